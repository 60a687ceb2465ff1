// A small in-process SFTP server (ssh2's Server) over a real temporary directory, for the SFTP
// transport tests. Like OpenSSH it answers an exclusive open of an existing file with FAILURE.
import { generateKeyPairSync, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';

const { Server, utils } = ssh2;
const { STATUS_CODE, flagsToString } = utils.sftp;

export interface SftpTestServer {
  port: number;
  /** Local directory that is the server's "/". */
  root: string;
  /** OpenSSH-style pin of the host key: `SHA256:<base64>`. */
  hostKeySha256: string;
  /** Make the server swallow one SFTP request type (e.g. 'LSTAT') to test client timeouts. */
  stall(op: string | undefined): void;
  stop(): Promise<void>;
}

export interface SftpTestServerOptions {
  username: string;
  password?: string;
  /** OpenSSH public key line accepted for publickey auth. */
  authorizedKey?: string;
}

export function newRsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

export async function startSftpServer(opts: SftpTestServerOptions): Promise<SftpTestServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sftp-test-'));
  const hostKey = newRsaKeyPem();
  const parsedHost = utils.parseKey(hostKey);
  if (parsedHost instanceof Error) throw parsedHost;
  const hostBlob = (Array.isArray(parsedHost) ? parsedHost[0]! : parsedHost).getPublicSSH();
  const hostKeySha256 = `SHA256:${createHash('sha256').update(hostBlob).digest('base64').replace(/=+$/, '')}`;
  let allowed: ReturnType<typeof utils.parseKey> | undefined;
  if (opts.authorizedKey) allowed = utils.parseKey(opts.authorizedKey);
  const allowedKey = allowed && !(allowed instanceof Error) ? (Array.isArray(allowed) ? allowed[0]! : allowed) : undefined;

  const local = (p: string): string => path.join(root, path.posix.normalize(`/${p}`));
  const clients = new Set<ssh2.Connection>();
  let stalled: string | undefined;

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.username !== opts.username) return ctx.reject();
      if (ctx.method === 'password' && opts.password !== undefined && ctx.password === opts.password) return ctx.accept();
      if (ctx.method === 'publickey' && allowedKey) {
        const sameKey = ctx.key.algo === allowedKey.type && ctx.key.data.equals(allowedKey.getPublicSSH());
        if (sameKey) {
          if (!ctx.signature) return ctx.accept(); // the client is asking whether this key would do
          if (allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
        }
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, number>();
          let next = 0;
          const handleOf = (buf: Buffer): number | undefined => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
          const fail = (reqid: number, err: NodeJS.ErrnoException): void => {
            sftp.status(reqid, err.code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : err.code === 'EACCES' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE);
          };
          sftp.on('OPEN', (reqid, filename, flags) => {
            const mode = flagsToString(flags);
            if (!mode) return sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED);
            try {
              const fd = fs.openSync(local(filename), mode, 0o600);
              const id = next++;
              handles.set(id, fd);
              const h = Buffer.alloc(4);
              h.writeUInt32BE(id, 0);
              sftp.handle(reqid, h);
            } catch (err) {
              fail(reqid, err as NodeJS.ErrnoException);
            }
          });
          sftp.on('WRITE', (reqid, handle, offset, data) => {
            const fd = handleOf(handle);
            if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
            fs.writeSync(fd, data, 0, data.length, offset);
            sftp.status(reqid, STATUS_CODE.OK);
          });
          sftp.on('READ', (reqid, handle, offset, length) => {
            const fd = handleOf(handle);
            if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
            const buf = Buffer.alloc(length);
            const n = fs.readSync(fd, buf, 0, length, offset);
            if (n === 0) return sftp.status(reqid, STATUS_CODE.EOF);
            sftp.data(reqid, buf.subarray(0, n));
          });
          sftp.on('FSTAT', (reqid, handle) => {
            const fd = handleOf(handle);
            if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
            const st = fs.fstatSync(fd);
            sftp.attrs(reqid, { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
          });
          sftp.on('CLOSE', (reqid, handle) => {
            const fd = handleOf(handle);
            if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
            fs.closeSync(fd);
            handles.delete(handle.readUInt32BE(0));
            sftp.status(reqid, STATUS_CODE.OK);
          });
          const stat = (reqid: number, p: string): void => {
            if (stalled === 'LSTAT' || stalled === 'STAT') return;
            try {
              const st = fs.lstatSync(local(p));
              sftp.attrs(reqid, { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
            } catch (err) {
              fail(reqid, err as NodeJS.ErrnoException);
            }
          };
          sftp.on('STAT', stat);
          sftp.on('LSTAT', stat);
          sftp.on('REMOVE', (reqid, p) => {
            try {
              fs.unlinkSync(local(p));
              sftp.status(reqid, STATUS_CODE.OK);
            } catch (err) {
              fail(reqid, err as NodeJS.ErrnoException);
            }
          });
          sftp.on('REALPATH', (reqid, p) => {
            sftp.name(reqid, [{ filename: path.posix.normalize(`/${p}`), longname: '', attrs: {} as ssh2.Attributes }]);
          });
          // OpenSSH's sftp client waits for the channel to close after it sends EOF.
          sftp.on('end', () => sftp.end());
        });
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    root,
    hostKeySha256,
    stall(op) {
      stalled = op;
    },
    async stop() {
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
