// FileTransport over SFTP (ssh2), for appliances where NITRO uploads are disabled or files are
// large. The host key is pinned by SHA-256 (no trust-on-first-use), files are created with an
// exclusive open so an existing file is never overwritten.
import { createHash } from 'node:crypto';
// Types only at load time: ssh2 (with its native cpu-features probe) costs every CLI start about
// 0.2 s of CPU, and only an inventory with `transport: sftp` needs it; connect() loads it.
import type { Client, ConnectConfig, SFTPWrapper } from 'ssh2';
import { AdcError, EXIT } from '../errors.js';
import { FileExistsError, TransferError, type FileTransport } from './transport.js';
import { validateFileName } from '../nitro/systemfile.js';

export interface SftpOptions {
  host: string;
  port?: number;
  username: string;
  /** Resolved secret values; one of password / privateKey. */
  password?: string;
  privateKey?: string | Buffer;
  passphrase?: string;
  /**
   * SHA-256 of the server's host key: OpenSSH style `SHA256:<base64>` (as `ssh-keygen -lf`
   * prints) or 64 hex digits.
   */
  hostKeySha256: string;
  /** Remote directory; default /nsconfig/ssl. */
  directory?: string;
  timeoutMs?: number;
  /** Refuse uploads and removals (recorded in `wouldSend`, without content); reads still work. */
  dryRun?: boolean;
}

export class SftpDryRunError extends AdcError {}

// SFTP status codes (draft-ietf-secsh-filexfer): 2 no such file, 4 failure (OpenSSH's answer to
// O_EXCL on an existing file), 11 file already exists (newer servers).
const NO_SUCH_FILE = 2;
const FAILURE = 4;
const FILE_ALREADY_EXISTS = 11;

export class SftpHostKeyError extends AdcError {
  constructor(message: string) {
    super(message, EXIT.invalidInput);
  }
}

/** Both accepted pin forms reduced to raw digest bytes. */
export function parseHostKeyPin(pin: string): Buffer {
  const p = pin.trim();
  const hex = p.replace(/:/g, '');
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  const b64 = p.replace(/^SHA256:/i, '');
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== 32) throw new SftpHostKeyError(`host key pin "${pin}" is neither SHA256:<base64> nor 64 hex digits`);
  return buf;
}

/** OpenSSH's fingerprint form of a host key blob. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

function statusCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

export class SftpTransport implements FileTransport {
  readonly description: string;
  private readonly dir: string;
  private readonly timeoutMs: number;
  readonly dryRun: boolean;
  /** Dry run: what would have been written or removed (names and sizes only). */
  readonly wouldSend: { op: 'upload' | 'remove'; path: string; bytes?: number }[] = [];

  private constructor(
    private readonly conn: Client,
    private readonly sftp: SFTPWrapper,
    opts: SftpOptions,
  ) {
    this.dir = (opts.directory ?? '/nsconfig/ssl').replace(/\/+$/, '');
    this.description = `sftp ${opts.username}@${opts.host}:${opts.port ?? 22}${this.dir}`;
    this.timeoutMs = opts.timeoutMs ?? 20_000;
    this.dryRun = opts.dryRun ?? false;
    conn.once('close', () => (this.closed = true));
  }

  private closed = false;

  /** Every SFTP request gets a deadline; a hung server ends the connection rather than the run. */
  private timed<T>(name: string, what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.conn.end();
        reject(new TransferError(this.description, name, `${what}: no reply within ${this.timeoutMs} ms; connection closed`));
      }, this.timeoutMs);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  static async connect(opts: SftpOptions): Promise<SftpTransport> {
    const pin = parseHostKeyPin(opts.hostKeySha256);
    if (!opts.password && !opts.privateKey) throw new AdcError('sftp: give a password or a private key', EXIT.invalidInput);
    const { default: ssh2 } = await import('ssh2');
    const conn = new ssh2.Client();
    let seen: string | undefined;
    let rejectedKey = false;
    const cfg: ConnectConfig = {
      host: opts.host,
      port: opts.port ?? 22,
      username: opts.username,
      readyTimeout: opts.timeoutMs ?? 20_000,
      hostVerifier: (key: Buffer) => {
        seen = hostKeyFingerprint(key);
        rejectedKey = !createHash('sha256').update(key).digest().equals(pin);
        return !rejectedKey;
      },
    };
    if (opts.password !== undefined) cfg.password = opts.password;
    if (opts.privateKey !== undefined) cfg.privateKey = opts.privateKey;
    if (opts.passphrase !== undefined) cfg.passphrase = opts.passphrase;
    const where = `${opts.host}:${opts.port ?? 22}`;
    await new Promise<void>((resolve, reject) => {
      conn.once('ready', () => resolve());
      conn.once('error', (err: Error & { level?: string }) => {
        if (rejectedKey) {
          reject(new SftpHostKeyError(`sftp ${where}: host key ${seen} does not match the pinned ${opts.hostKeySha256}; refusing to connect`));
          return;
        }
        // ssh2 says "All configured authentication methods failed"; keep the wording, never the secret.
        reject(new AdcError(`sftp ${where}: ${err.message}`, err.level === 'client-authentication' ? EXIT.invalidInput : EXIT.failedRolledBack, { cause: err }));
      });
      conn.connect(cfg);
    });
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
    return new SftpTransport(conn, sftp, opts);
  }

  private path(name: string): string {
    validateFileName(name);
    return `${this.dir}/${name}`;
  }

  async upload(name: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(name);
    if (this.dryRun) {
      this.wouldSend.push({ op: 'upload', path, bytes: bytes.byteLength });
      throw new SftpDryRunError(`${this.description}: dry run: ${name} not uploaded`);
    }
    const handle = await this.timed(
      name,
      'open',
      new Promise<Buffer>((resolve, reject) =>
        // 'wx': O_CREAT|O_EXCL — the server refuses atomically if the name exists.
        this.sftp.open(path, 'wx', 0o600, (err, h) => {
          if (!err) return resolve(h);
          const code = statusCode(err);
          if (code === FILE_ALREADY_EXISTS || code === FAILURE) {
            // FAILURE is also OpenSSH's answer to O_EXCL; confirm before calling it "exists".
            this.exists(name).then((yes) => reject(yes ? new FileExistsError(this.description, name) : new TransferError(this.description, name, err.message, { cause: err })), reject);
            return;
          }
          reject(new TransferError(this.description, name, `open failed: ${err.message}`, { cause: err }));
        }),
      ),
    );
    const buf = Buffer.from(bytes);
    let failed: unknown;
    try {
      let offset = 0;
      while (offset < buf.length) {
        const len = Math.min(32 * 1024, buf.length - offset);
        await this.timed(
          name,
          'write',
          new Promise<void>((resolve, reject) =>
            this.sftp.write(handle, buf, offset, len, offset, (err) => (err ? reject(new TransferError(this.description, name, `write failed: ${err.message}`, { cause: err })) : resolve())),
          ),
        );
        offset += len;
      }
    } catch (err) {
      failed = err;
    }
    if (!this.closed) {
      try {
        await this.timed(name, 'close', new Promise<void>((resolve, reject) => this.sftp.close(handle, (err) => (err ? reject(err) : resolve()))));
      } catch (err) {
        failed ??= err;
      }
    }
    if (failed !== undefined) {
      // The exclusive open proves the partial file is ours: take it away again when we still can.
      if (!this.closed) await this.remove(name).catch(() => undefined);
      throw failed instanceof Error ? failed : new Error(String(failed));
    }
  }

  async read(name: string): Promise<Buffer | undefined> {
    const path = this.path(name);
    return this.timed(
      name,
      'readFile',
      new Promise((resolve, reject) =>
        this.sftp.readFile(path, (err, data) => {
          if (!err) return resolve(data);
          if (statusCode(err) === NO_SUCH_FILE) return resolve(undefined);
          reject(new TransferError(this.description, name, `read failed: ${err.message}`, { cause: err }));
        }),
      ),
    );
  }

  async exists(name: string): Promise<boolean> {
    const path = this.path(name);
    return this.timed(
      name,
      'lstat',
      new Promise((resolve, reject) =>
        this.sftp.lstat(path, (err) => {
          if (!err) return resolve(true);
          if (statusCode(err) === NO_SUCH_FILE) return resolve(false);
          reject(new TransferError(this.description, name, `stat failed: ${err.message}`, { cause: err }));
        }),
      ),
    );
  }

  async remove(name: string): Promise<boolean> {
    const path = this.path(name);
    if (this.dryRun) {
      this.wouldSend.push({ op: 'remove', path });
      throw new SftpDryRunError(`${this.description}: dry run: ${name} not removed`);
    }
    return this.timed(
      name,
      'unlink',
      new Promise((resolve, reject) =>
        this.sftp.unlink(path, (err) => {
          if (!err) return resolve(true);
          if (statusCode(err) === NO_SUCH_FILE) return resolve(false);
          reject(new TransferError(this.description, name, `remove failed: ${err.message}`, { cause: err }));
        }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.conn.once('close', () => resolve());
      this.sftp.end();
      this.conn.end();
    });
  }
}
