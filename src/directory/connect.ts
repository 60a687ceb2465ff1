// One bound LDAP connection (ldapts), with the two guarantees the rest of the tool relies on:
// the server certificate is always checked (LDAPS and StartTLS; there is deliberately no option
// to skip it, as the vendor tool has none: the bind password and every OTP secret cross this
// connection, so the answer to an unknown CA is caPem), and a dry-run connection cannot write —
// both enforced here, in the transport, so no caller can forget them.
import type { ConnectionOptions } from 'node:tls';
import { Client, type Change, type Entry, type SearchOptions } from 'ldapts';
import { InputError } from '../errors.js';
import { DirectoryUnavailable, DryRunRefusal, toDirectoryError, type DirectoryError } from './errors.js';

export interface ConnectOptions {
  /** ldap://host:port or ldaps://host:port */
  url: string;
  bindDN: string;
  /** Secret: never logged, never part of an error. */
  password: string;
  /** PEM of the CA that signed the server certificate (LDAPS and StartTLS); system CAs otherwise. */
  caPem?: string;
  /** Upgrade an ldap:// connection with StartTLS before binding. */
  startTls?: boolean;
  /** Operation timeout (default 30 s); connecting gets the same. */
  timeoutMs?: number;
  /** Refuse every write on this connection. */
  dryRun?: boolean;
}

export class DirectoryClient {
  constructor(
    private readonly client: Client,
    readonly url: string,
    readonly bindDN: string,
    readonly dryRun: boolean,
    private readonly timeoutMs: number,
  ) {}

  /**
   * A connection that lost its socket stays lost. ldapts would reconnect on the next call, but
   * that socket is not bound, and concurrent reconnects can leave a call pending forever (each
   * failed attempt tears down the listeners of the others). Callers open a new connection.
   */
  private live(op: string, dn: string): void {
    if (!this.client.isConnected) throw new DirectoryUnavailable(`${op} ${dn}: directory unavailable: the connection to ${this.url} was lost`, dn);
  }

  /** The client's own timeout, plus a margin, as a last guard: no call may hang the run. */
  private guarded<T>(op: string, dn: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DirectoryUnavailable(`${op} ${dn}: no answer from ${this.url} within ${this.timeoutMs + 1000} ms`, dn)), this.timeoutMs + 1000);
      timer.unref();
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  async search(base: string, options: SearchOptions): Promise<Entry[]> {
    try {
      this.live('search', base);
      return (await this.guarded('search', base, this.client.search(base, options))).searchEntries;
    } catch (err) {
      throw toDirectoryError(err, 'search', base);
    }
  }

  /** Pages of a paged search, fetched one at a time as the consumer asks: memory stays flat. */
  async *searchPages(base: string, options: SearchOptions & { pageSize: number }): AsyncGenerator<Entry[]> {
    const { pageSize, ...rest } = options;
    try {
      this.live('paged search under', base);
      const pages = this.client.searchPaginated(base, { ...rest, paged: { pageSize } });
      for (;;) {
        this.live('paged search under', base);
        const next = await this.guarded('paged search under', base, pages.next());
        if (next.done) return;
        yield next.value.searchEntries;
      }
    } catch (err) {
      throw toDirectoryError(err, 'paged search under', base);
    }
  }

  /** A modify; `conflictCodes` are the result codes that mean "the value was not what you read". */
  async modify(dn: string, changes: Change[], conflictCodes: readonly number[] = []): Promise<void> {
    if (this.dryRun) throw new DryRunRefusal(`modify ${dn}: refused: this is a dry run`, dn);
    try {
      this.live('modify', dn);
      await this.guarded('modify', dn, this.client.modify(dn, changes));
    } catch (err) {
      throw toDirectoryError(err, 'modify', dn, conflictCodes);
    }
  }

  /**
   * Runs `send`, which starts several operations at once (a group's modifies), with the socket
   * corked: their requests leave in one write instead of one system call each, which on a busy
   * machine costs the client and the server more than encoding them. ldapts writes a request one
   * microtask after the call, so the socket is uncorked on the next turn of the event loop, once
   * every request of `send` is queued. Only the transport changes: each operation is still its
   * own request with its own result. Without a socket to cork (not connected, or a client
   * without one) this is just `send()`.
   */
  batched<T>(send: () => Promise<T>): Promise<T> {
    const socket = (this.client as unknown as { socket?: { cork?: () => void; uncork?: () => void } }).socket;
    if (!socket || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function') return send();
    socket.cork();
    setImmediate(() => socket.uncork!());
    return send();
  }

  async close(): Promise<void> {
    if (!this.client.isConnected) return;
    await this.guarded('unbind', this.bindDN, this.client.unbind()).catch(() => undefined);
  }
}

export async function connect(opts: ConnectOptions): Promise<DirectoryClient> {
  let parsed: URL;
  try {
    parsed = new URL(opts.url);
  } catch {
    throw new InputError(`directory URL "${opts.url}" is not a URL (expected ldap://host:port or ldaps://host:port)`);
  }
  if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') {
    throw new InputError(`directory URL "${opts.url}": the scheme must be ldap:// or ldaps://`);
  }
  if (parsed.protocol === 'ldaps:' && opts.startTls) throw new InputError(`directory URL "${opts.url}": StartTLS is for ldap://, not ldaps://`);
  const timeout = opts.timeoutMs ?? 30_000;
  const tlsOptions: ConnectionOptions = {
    rejectUnauthorized: true,
    ...(opts.caPem ? { ca: [opts.caPem] } : {}),
    // The URL host is what the certificate must name, also when it is an IP address.
    servername: isIp(parsed.hostname) ? undefined : parsed.hostname,
  };
  // ldapts speaks TLS from the first byte whenever tlsOptions is set, so plain ldap:// gets none
  // (StartTLS passes them to the upgrade instead).
  const secure = parsed.protocol === 'ldaps:';
  const client = new Client({ url: opts.url, timeout, connectTimeout: timeout, ...(secure ? { tlsOptions } : {}), strictDN: false });
  try {
    if (opts.startTls) await client.startTLS(tlsOptions);
    await client.bind(opts.bindDN, opts.password);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    const e: DirectoryError = toDirectoryError(err, 'bind as', opts.bindDN);
    // A wrong password or bind DN is the operator's input, not a failed run.
    if (e.resultCode === 49) throw new InputError(`${opts.url}: ${e.message}`, { cause: err });
    e.message = `${opts.url}: ${e.message}`;
    throw e;
  }
  return new DirectoryClient(client, opts.url, opts.bindDN, opts.dryRun ?? false, timeout);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':') || host.startsWith('[');
}
