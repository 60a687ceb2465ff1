// A TCP relay that holds back everything the far side sends by a fixed delay, in order: how the
// lab gives a replica a real replication latency. The replica pulls changes with syncrepl
// refreshAndPersist through it, so every change still arrives (in order, exactly once) but
// `delayMs` late — as a domain controller in another site sees a change only after replication.
// (slapd 2.5's refreshOnly-with-an-interval mode was tried first and lost changes committed while
// a refresh ran; see docs/fidelity.md.) The relay lives in the simulator process, which the lab
// keeps running and stops by pid.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface RelaySpec {
  /** 127.0.0.1 port to listen on. */
  port: number;
  /** Where to forward: 127.0.0.1 and this port. */
  targetPort: number;
  delayMs: number;
}

export function startRelay(spec: RelaySpec): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: spec.targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (d) => upstream.write(d));
    // Timers of equal delay fire in the order they were set: the stream stays in order.
    upstream.on('data', (d) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(d);
      }, spec.delayMs).unref();
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', () => setTimeout(closeBoth, spec.delayMs).unref());
  });
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.port, '127.0.0.1', () => resolve(server));
  });
}
