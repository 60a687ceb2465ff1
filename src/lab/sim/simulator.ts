// Starts the simulated appliances: per node a NITRO port over HTTP and HTTPS and a gateway over
// HTTPS and HTTP, all on 127.0.0.1 with ephemeral ports. HA pairs share one configuration; each
// node keeps its own files, copied primary → secondary by the (forced or periodic) HA file sync.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { SimNode } from './appliance-state.js';
import type { SimWorld } from './control.js';
import { SSL_DIR } from './file-store.js';
import { createGatewayHandler } from './gateway/gateway-server.js';
import { gatewayDirectory, ldapActionsOf } from './ldap-actions.js';
import { startRelay } from './relay.js';
import { NitroFault } from './nitro-errors.js';
import { createNitroHandler } from './nitro-server.js';
import { addCertKey } from './res-sslcertkey.js';
import { syncSslFiles } from './res-system.js';
import { bindUserDataKey } from './res-vpnglobal-binding.js';
import type { RunningAppliance, RunningSimulator, SimApplianceConfig, SimulatorConfig } from './types.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function guard(handler: Handler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`internal simulator error: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function linkPairs(cfgs: SimApplianceConfig[], nodes: SimNode[]): void {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  if (byName.size !== nodes.length) throw new Error('appliance names must be unique');
  for (const [i, cfg] of cfgs.entries()) {
    if (!cfg.ha) continue;
    const node = nodes[i];
    const peer = byName.get(cfg.ha.peer);
    const peerCfg = cfgs.find((c) => c.name === cfg.ha!.peer);
    if (!peer || !peerCfg?.ha || peerCfg.ha.peer !== cfg.name) throw new Error(`${cfg.name}: HA peer ${cfg.ha.peer} must name it back`);
    if (peerCfg.ha.role === cfg.ha.role) throw new Error(`${cfg.name} and ${peer.name}: one must be primary, the other secondary`);
    node.peer = peer;
    if (cfg.ha.role === 'primary') peer.config = node.config;
  }
}

function preload(cfgs: SimApplianceConfig[], nodes: SimNode[]): void {
  for (const [i, cfg] of cfgs.entries()) {
    for (const f of cfg.preload?.files ?? []) nodes[i].files.add(SSL_DIR, f.name, Buffer.from(f.content));
  }
  // Primaries first: a secondary's preload only fills in what its pair does not have yet.
  const order = [...cfgs.keys()].sort((a, b) => Number(cfgs[a].ha?.role === 'secondary') - Number(cfgs[b].ha?.role === 'secondary'));
  for (const i of order) {
    const cfg = cfgs[i];
    const node = nodes[i];
    const p = cfg.preload;
    if (!p) continue;
    try {
      for (const ck of p.certkeys ?? []) {
        if (!node.config.certkeys.has(ck.certkey)) addCertKey(node, ck);
      }
      for (const k of p.userDataEncryptionKeys ?? []) {
        if (!node.config.userDataKeys().includes(k)) bindUserDataKey(node, k);
      }
      if (p.otpEncryption) node.config.otp.encryption = p.otpEncryption;
    } catch (err) {
      const detail = err instanceof NitroFault ? `${err.errorcode} ${err.message}` : String(err);
      throw new Error(`${cfg.name}: preload failed: ${detail}`);
    }
  }
  for (const n of nodes) n.config.save();
}

export async function startSimulator(cfg: SimulatorConfig): Promise<RunningSimulator> {
  if (cfg.appliances.length === 0) throw new Error('the simulator needs at least one appliance');
  const nodes = cfg.appliances.map((a, i) => new SimNode(a, i, cfg.sessionTimeoutSec ?? 1800));
  linkPairs(cfg.appliances, nodes);
  preload(cfg.appliances, nodes);
  for (const [i, a] of cfg.appliances.entries()) {
    // An HA pair shares one configuration: the primary's actions are the pair's.
    if (a.ha?.role !== 'secondary' || nodes[i].config.ldapActions.length === 0) nodes[i].config.ldapActions = ldapActionsOf(a.ldapActions, cfg.directory);
  }
  const world: SimWorld = { control: cfg.control === true, nodes };

  const servers: Server[] = [];
  const timers: NodeJS.Timeout[] = [];
  const stop = async (): Promise<void> => {
    for (const t of timers) clearInterval(t);
    await Promise.all(servers.splice(0).map(close));
  };
  const tls = { cert: cfg.tls.certPem, key: cfg.tls.keyPem };
  const appliances: RunningAppliance[] = [];
  try {
    for (const node of nodes) {
      const nitro = guard(createNitroHandler(node, world));
      const gateway = guard(createGatewayHandler(node, gatewayDirectory(node.config.ldapActions, cfg.directory)));
      const made = [createHttpServer(nitro), createHttpsServer(tls, nitro), createHttpsServer(tls, gateway), createHttpServer(gateway)];
      servers.push(...made);
      const [nitroPort, nitroTlsPort, gwTlsPort, gwPort] = await Promise.all(made.map(listen));
      const nitroUrl = `http://127.0.0.1:${nitroPort}`;
      appliances.push({
        name: node.name,
        nitroUrl,
        nitroHttpsUrl: `https://127.0.0.1:${nitroTlsPort}`,
        gatewayUrl: `https://127.0.0.1:${gwTlsPort}`,
        gatewayHttpUrl: `http://127.0.0.1:${gwPort}`,
        ...(world.control ? { controlUrl: `${nitroUrl}/__lab` } : {}),
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const primaries = nodes.filter((n) => n.role === 'primary');
  if (primaries.length > 0) {
    // The HA file sync runs about once a minute on an appliance; the lab can make it shorter.
    const t = setInterval(() => {
      for (const p of nodes) if (p.role === 'primary') syncSslFiles(p);
    }, cfg.haFileSyncDelayMs ?? 60_000);
    t.unref();
    timers.push(t);
  }
  const relays: NetServer[] = [];
  try {
    for (const r of cfg.relays ?? []) relays.push(await startRelay(r));
  } catch (err) {
    await Promise.all(relays.map((r) => new Promise<void>((res) => r.close(() => res()))));
    await stop();
    throw err;
  }
  return {
    appliances,
    stop: async () => {
      await Promise.all(relays.splice(0).map((r) => new Promise<void>((res) => r.close(() => res()))));
      await stop();
    },
  };
}
