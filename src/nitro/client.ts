// One NITRO client per appliance (one HA pair counts as one appliance). It owns the session(s),
// TLS trust, timeouts, retries, dry run and "which node is the primary"; the per-resource
// modules beside it only say what to read and write.
import http from 'node:http';
import type https from 'node:https';
import { request as httpRequest, type HttpResponse } from '../http/request.js';
import {
  ABSENT_CODES,
  BAD_LOGIN_CODES,
  BUSY_CODES,
  CLUSTER_NSIP_CODES,
  HA_PROPAGATION_CODES,
  NITRO_CODE,
  NOT_PRIMARY_CODES,
  NitroDryRunError,
  NitroError,
  NitroOutcomeUnknownError,
  NitroTlsError,
  NitroUnreachableError,
  SESSION_CODES,
  redactBody,
  type HttpMethod,
} from './errors.js';
import { buildHttpsAgent, isTlsVerificationError, type TlsTrustOptions } from '../tls/https-agent.js';
import { resolveHaTarget, type HaTarget } from './ha.js';
import { NitroReplyShapeError } from './reply-shape.js';
import { EXIT } from '../errors.js';

export interface NitroCredentials {
  username: string;
  password: string;
}

export interface NitroRetryOptions {
  /** Total attempts for a retryable call (first try included). Default 5. */
  attempts?: number;
  /** First back-off delay; doubles each time, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of one back-off delay. Default 10 s. */
  maxDelayMs?: number;
}

/** How the client trusts the NSIPs: shared with the gateway's logon check (src/tls/). */
export type NitroTlsOptions = TlsTrustOptions;

export interface NitroClientOptions {
  /** Inventory name of the appliance (or HA pair); used in every message. */
  appliance: string;
  /** Base URL(s) of the NSIP(s), e.g. `https://10.0.0.5`. Two for an HA pair. */
  nodes: string[];
  /** Resolved values (the caller resolved the inventory's secret references). */
  credentials: NitroCredentials;
  /** `session` (default): NITRO_AUTH_TOKEN cookie. `headers`: X-NITRO-USER/PASS on each call. */
  auth?: 'session' | 'headers';
  tls?: NitroTlsOptions;
  /** Per-call timeout, from the connection to the last byte of the reply. Default 30 s. */
  timeoutMs?: number;
  /**
   * After a write gets no reply, how long the appliance may still be working on it: the re-read
   * that decides waits up to this long for the change to appear. Default: the call timeout.
   */
  settleMs?: number;
  retry?: NitroRetryOptions;
  /**
   * Refuse (and record in `wouldSend`) every non-GET request; reads still go out. Session
   * login/logout are the one exception: they change no configuration and reads need a session
   * (use `auth: 'headers'` for a dry run that sends no POST at all).
   */
  dryRun?: boolean;
  /** Session idle timeout asked for at login, seconds. */
  sessionTimeoutSec?: number;
  /** Observability hook; never receives bodies, only the facts of each call. */
  onEvent?: (event: NitroCallEvent) => void;
}

export interface NitroQuery {
  /** `?args=k:v,…` — values are URL-encoded, separators kept literal. */
  args?: Record<string, string | number>;
  filter?: Record<string, string | number>;
  attrs?: string[];
  action?: string;
  count?: boolean;
  warning?: boolean;
}

export interface NitroRequest {
  method: HttpMethod;
  /** Resource type, e.g. `sslcertkey`, `vpnglobal_sslcertkey_binding`. */
  resource: string;
  /** Object name for `/config/<resource>/<name>`. */
  name?: string;
  query?: NitroQuery;
  body?: Record<string, unknown>;
}

export interface NitroCallOptions {
  /** Talk to this node instead of the current primary (HA reads of the secondary). */
  node?: string;
  /** Do not follow a 368/1028 to the new primary (used by the HA discovery itself). */
  noFailover?: boolean;
  /** Override the retry attempts for this call (e.g. save config). */
  attempts?: number;
}

export interface NitroCallEvent {
  appliance: string;
  node: string;
  method: HttpMethod;
  resource: string;
  httpStatus?: number;
  errorcode?: number;
  attempt: number;
  ms: number;
  outcome: 'ok' | 'error' | 'no-reply' | 'dry-run' | 'retry' | 'relogin';
}

/** What a dry run would have sent, secrets redacted. */
export interface RecordedRequest {
  appliance: string;
  node: string;
  method: HttpMethod;
  path: string;
  query: string;
  body: unknown;
}

export interface NitroReply {
  httpStatus: number;
  /** Parsed JSON body (NITRO replies are objects). */
  body: Record<string, unknown>;
  /** `X-NITRO-WARNING` when `?warning=yes` was asked and the appliance had one. */
  warning?: string;
}

const NETWORK_NOTHING_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function encodeArgs(rec: Record<string, string | number>): string {
  return Object.entries(rec)
    .map(([k, v]) => `${k}:${encodeURIComponent(String(v))}`)
    .join(',');
}

export function buildQuery(q: NitroQuery | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  if (q.args && Object.keys(q.args).length) parts.push(`args=${encodeArgs(q.args)}`);
  if (q.filter && Object.keys(q.filter).length) parts.push(`filter=${encodeArgs(q.filter)}`);
  if (q.attrs?.length) parts.push(`attrs=${q.attrs.map(encodeURIComponent).join(',')}`);
  if (q.action) parts.push(`action=${encodeURIComponent(q.action)}`);
  if (q.count) parts.push('count=yes');
  if (q.warning) parts.push('warning=yes');
  return parts.length ? `?${parts.join('&')}` : '';
}

/**
 * A resource name in the URL path, percent-encoded twice as the vendor's own clients do (the
 * Ansible collection and the Go SDK): the appliance decodes the path twice, so "a b" must arrive
 * as a%2520b and "50%" as 50%2525. Encoding once would turn a "%41" in a name into "A".
 */
export function encodeName(name: string): string {
  return encodeURIComponent(encodeURIComponent(name));
}

function stripSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

export class NitroClient {
  readonly appliance: string;
  readonly nodes: readonly string[];
  readonly dryRun: boolean;
  /** Things the plan and the report must show (insecure TLS, plain HTTP, HA oddities). */
  readonly warnings: string[] = [];
  /** Dry run: every refused request, redacted, in order. */
  readonly wouldSend: RecordedRequest[] = [];

  private readonly creds: NitroCredentials;
  private readonly auth: 'session' | 'headers';
  private readonly attempts: number;
  /** Per-call timeout, and how long after it a write with no reply may still land (settle.ts). */
  readonly timeoutMs: number;
  readonly settleMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sessionTimeoutSec: number | undefined;
  private readonly onEvent: ((e: NitroCallEvent) => void) | undefined;
  private readonly tokens = new Map<string, string>();
  private current: string;
  private lastTarget: HaTarget | undefined;
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent: http.Agent;

  constructor(opts: NitroClientOptions) {
    if (!opts.nodes.length || opts.nodes.length > 2) {
      throw new NitroError(
        { appliance: opts.appliance, method: 'GET', resource: 'nsconfig', httpStatus: undefined, errorcode: undefined, message: 'give one NSIP URL, or two for an HA pair' },
        { exitCode: EXIT.invalidInput },
      );
    }
    this.appliance = opts.appliance;
    this.nodes = opts.nodes.map(stripSlash);
    this.current = this.nodes[0]!;
    this.creds = opts.credentials;
    this.auth = opts.auth ?? 'session';
    this.dryRun = opts.dryRun ?? false;
    this.attempts = Math.max(1, opts.retry?.attempts ?? 5);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.settleMs = Math.max(0, opts.settleMs ?? this.timeoutMs);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 500;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 10_000;
    this.sessionTimeoutSec = opts.sessionTimeoutSec;
    this.onEvent = opts.onEvent;

    const tlsOpts = opts.tls ?? {};
    for (const n of this.nodes) {
      const u = new URL(n);
      if (u.protocol === 'http:') {
        if (!tlsOpts.insecure) {
          throw new NitroError(
            {
              appliance: opts.appliance,
              method: 'GET',
              resource: 'nsconfig',
              httpStatus: undefined,
              errorcode: undefined,
              message: `${n} is plain HTTP; use https, or set insecure: true in the inventory to accept sending credentials in clear`,
            },
            { exitCode: EXIT.invalidInput },
          );
        }
        this.warnings.push(`${opts.appliance}: ${n} is plain HTTP: NITRO credentials travel unencrypted`);
      } else if (u.protocol !== 'https:') {
        throw new NitroError(
          { appliance: opts.appliance, method: 'GET', resource: 'nsconfig', httpStatus: undefined, errorcode: undefined, message: `${n}: NITRO URL must be https:// (or http:// with insecure: true)` },
          { exitCode: EXIT.invalidInput },
        );
      }
    }
    const built = buildHttpsAgent(opts.appliance, tlsOpts);
    this.warnings.push(...built.warnings);
    this.httpsAgent = built.agent;
    // No keep-alive: a pooled socket the appliance already closed would turn a harmless write
    // into an "outcome unknown" reset.
    this.httpAgent = new http.Agent({ keepAlive: false });
  }

  /** The node writes go to (the primary, once `resolveTarget` ran). */
  get currentNode(): string {
    return this.current;
  }

  get target(): HaTarget | undefined {
    return this.lastTarget;
  }

  /**
   * Read `nsconfig` and `hanode` on every given node, pick the primary and remember it.
   * Refuses a split brain, a pair with no reachable primary, and reports the HA sync state.
   */
  async resolveTarget(nodes: readonly string[] = this.nodes): Promise<HaTarget> {
    const target = await resolveHaTarget(this, nodes.map(stripSlash));
    this.current = target.primaryUrl;
    this.lastTarget = target;
    return target;
  }

  /**
   * Call before each write phase: a failover may have happened since the last one.
   * Returns the (possibly new) target; `failedOver` says whether the primary moved.
   */
  async recheckPrimary(): Promise<HaTarget & { failedOver: boolean }> {
    const before = this.current;
    const target = await this.resolveTarget();
    return { ...target, failedOver: target.primaryUrl !== before };
  }

  async get(resource: string, name?: string, query?: NitroQuery, opts?: NitroCallOptions): Promise<NitroReply> {
    return this.request({ method: 'GET', resource, ...(name !== undefined ? { name } : {}), ...(query ? { query } : {}) }, opts);
  }

  /**
   * GET that maps "no such resource" (258 and the certificate absent codes) to `undefined`,
   * and returns the resource's array (an empty binding may carry no key at all).
   */
  async getList<T = Record<string, unknown>>(resource: string, name?: string, query?: NitroQuery, opts?: NitroCallOptions): Promise<T[] | undefined> {
    try {
      const reply = await this.get(resource, name, query, opts);
      const v = reply.body[resource];
      if (v === undefined) return [];
      // NITRO answers a list, or one object for a singleton; anything else is not a reply we
      // can read rows from, and guessing would be deciding on nothing.
      const rows: unknown[] = Array.isArray(v) ? v : [v];
      if (rows.some((r) => r === null || typeof r !== 'object' || Array.isArray(r))) {
        throw new NitroReplyShapeError(this.appliance, resource, `"${resource}" is not a list of objects`, reply.body);
      }
      return rows as T[];
    } catch (err) {
      if (err instanceof NitroError && err.hasCode(...ABSENT_CODES)) return undefined;
      throw err;
    }
  }

  private beforeWrite: (() => Promise<void>) | undefined;

  /**
   * Run `fn` with `hook` awaited before every write request it sends (each attempt): a caller's
   * journal can then say when a write actually left, which is when it may start to land.
   */
  async withWriteHook<T>(hook: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    const outer = this.beforeWrite;
    this.beforeWrite = hook;
    try {
      return await fn();
    } finally {
      this.beforeWrite = outer;
    }
  }

  async request(req: NitroRequest, opts: NitroCallOptions = {}): Promise<NitroReply> {
    try {
      return await this.requestOnNode(req, opts.node ?? this.current, opts);
    } catch (err) {
      const isWrite = req.method !== 'GET';
      if (isWrite && !opts.node && !opts.noFailover && err instanceof NitroError && err.hasCode(...NOT_PRIMARY_CODES)) {
        // The pair failed over under us; the secondary refused, so nothing changed: safe to repeat once.
        const target = await this.recheckPrimary();
        return this.requestOnNode(req, target.primaryUrl, opts);
      }
      throw err;
    }
  }

  private pathOf(req: NitroRequest): string {
    const base = `/nitro/v1/config/${req.resource}`;
    return req.name !== undefined ? `${base}/${encodeName(req.name)}` : base;
  }

  private resourceLabel(req: NitroRequest): string {
    const action = req.query?.action ? `?action=${req.query.action}` : '';
    return `${req.name !== undefined ? `${req.resource}/${req.name}` : req.resource}${action}`;
  }

  private emit(e: Omit<NitroCallEvent, 'appliance'>): void {
    this.onEvent?.({ appliance: this.appliance, ...e });
  }

  private backoff(attempt: number): number {
    const d = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return d / 2 + Math.random() * (d / 2);
  }

  private async requestOnNode(req: NitroRequest, node: string, opts: NitroCallOptions): Promise<NitroReply> {
    const path = this.pathOf(req);
    const qs = buildQuery(req.query);
    const label = this.resourceLabel(req);
    if (this.dryRun && req.method !== 'GET') {
      this.wouldSend.push({ appliance: this.appliance, node, method: req.method, path, query: qs, body: redactBody(req.body ?? null) });
      this.emit({ node, method: req.method, resource: label, attempt: 0, ms: 0, outcome: 'dry-run' });
      throw new NitroDryRunError({
        appliance: this.appliance,
        method: req.method,
        resource: label,
        httpStatus: undefined,
        errorcode: undefined,
        message: 'dry run: not sent (recorded in wouldSend)',
      });
    }
    const maxAttempts = opts.attempts ?? this.attempts;
    let reloggedIn = false;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      let res: HttpResponse;
      if (req.method !== 'GET') await this.beforeWrite?.();
      try {
        res = await this.send(node, req.method, path + qs, req.body);
      } catch (err) {
        // Login failures arrive here already typed; they are final.
        if (err instanceof NitroError) throw err;
        const failure = classifyTransportError(err);
        if (failure.tls) throw this.tlsError(req.method, label, node, failure, err);
        this.emit({ node, method: req.method, resource: label, attempt, ms: Date.now() - started, outcome: 'no-reply' });
        // A read is always safe to repeat; a write only when the connection was never made.
        if ((req.method === 'GET' || failure.nothingSent) && attempt < maxAttempts) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw this.noReplyError(req.method, label, node, attempt, failure, err);
      }
      const ms = Date.now() - started;
      // A 2xx reply that is not a NITRO JSON object (a login page, a proxy's page, a cut-off
      // reply) must not read as "no such resource": say what came back.
      if (res.status < 300 && notNitroJson(res.body, req.method)) {
        this.emit({ node, method: req.method, resource: label, httpStatus: res.status, attempt, ms, outcome: 'error' });
        throw new NitroError({ appliance: this.appliance, method: req.method, resource: label, httpStatus: res.status, errorcode: undefined, message: notNitroJsonWords(node, res) });
      }
      const reply = readReply(res);
      const { errorcode } = reply;
      const withCode = errorcode !== undefined ? { errorcode } : {};
      if (reply.ok) {
        this.emit({ node, method: req.method, resource: label, httpStatus: res.status, attempt, ms, outcome: 'ok', ...withCode });
        return { httpStatus: res.status, body: reply.body, ...(reply.warning !== undefined ? { warning: reply.warning } : {}) };
      }
      if (errorcode !== undefined && SESSION_CODES.has(errorcode) && this.auth === 'session' && !reloggedIn) {
        reloggedIn = true;
        this.tokens.delete(node);
        this.emit({ node, method: req.method, resource: label, httpStatus: res.status, errorcode, attempt, ms, outcome: 'relogin' });
        attempt--; // the re-login is not a retry of the call
        continue;
      }
      const busy = errorcode !== undefined && BUSY_CODES.has(errorcode);
      const readServerError = req.method === 'GET' && errorcode === undefined && res.status >= 500;
      if ((busy || readServerError) && attempt < maxAttempts) {
        this.emit({ node, method: req.method, resource: label, httpStatus: res.status, attempt, ms, outcome: 'retry', ...withCode });
        await sleep(this.backoff(attempt));
        continue;
      }
      this.emit({ node, method: req.method, resource: label, httpStatus: res.status, attempt, ms, outcome: 'error', ...withCode });
      throw new NitroError({ appliance: this.appliance, method: req.method, resource: label, httpStatus: res.status, errorcode, message: explainRefusal(reply.message, errorcode, node) });
    }
  }

  /** The appliance's certificate failed verification or the pin: final, and the inventory's to fix. */
  private tlsError(method: HttpMethod, resource: string, node: string, failure: TransportFailure, err: unknown): NitroTlsError {
    return new NitroTlsError(
      { appliance: this.appliance, method, resource, httpStatus: undefined, errorcode: undefined, message: `TLS verification of ${node} failed: ${failure.detail}` },
      { cause: err, exitCode: EXIT.invalidInput },
    );
  }

  /**
   * No reply after the last attempt. A write that may have reached the appliance has an unknown
   * outcome (the caller re-reads before repeating it); anything else simply did not get through.
   */
  private noReplyError(method: HttpMethod, resource: string, node: string, attempts: number, failure: TransportFailure, err: unknown): NitroError {
    const why = failure.code || failure.detail;
    if (method !== 'GET' && !failure.nothingSent) {
      return new NitroOutcomeUnknownError(
        {
          appliance: this.appliance,
          method,
          resource,
          httpStatus: undefined,
          errorcode: undefined,
          message: `no reply from ${node} (${why}): the change may or may not have been made; re-read the state before repeating it`,
        },
        { cause: err, settleMs: this.settleMs },
      );
    }
    return new NitroUnreachableError(
      { appliance: this.appliance, method, resource, httpStatus: undefined, errorcode: undefined, message: `${node} unreachable after ${attempts} attempt(s): ${why}` },
      { cause: err },
    );
  }

  private authHeaders(token: string | undefined): Record<string, string> {
    if (this.auth === 'headers') {
      return { 'X-NITRO-USER': this.creds.username, 'X-NITRO-PASS': this.creds.password };
    }
    return token ? { Cookie: `NITRO_AUTH_TOKEN=${token}` } : {};
  }

  private async send(node: string, method: HttpMethod, pathAndQuery: string, body: unknown): Promise<HttpResponse> {
    let token: string | undefined;
    if (this.auth === 'session') token = await this.ensureSession(node);
    return this.call(
      node + pathAndQuery,
      method,
      { ...this.authHeaders(token), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body !== undefined ? JSON.stringify(body) : undefined,
    );
  }

  /**
   * One HTTP exchange with a node. Every status comes back as a reply (NITRO puts its errorcode
   * in 4xx/5xx bodies); redirects are not followed; the timeout covers the whole reply.
   */
  private call(url: string, method: HttpMethod, headers: Record<string, string>, body: string | undefined): Promise<HttpResponse> {
    return httpRequest({
      method,
      url,
      headers: { Accept: 'application/json', ...headers },
      body,
      agent: url.startsWith('https:') ? this.httpsAgent : this.httpAgent,
      timeoutMs: this.timeoutMs,
    });
  }

  private async ensureSession(node: string): Promise<string> {
    const have = this.tokens.get(node);
    if (have) return have;
    const token = await this.login(node);
    this.tokens.set(node, token);
    return token;
  }

  private async login(node: string): Promise<string> {
    const login: Record<string, unknown> = { username: this.creds.username, password: this.creds.password };
    if (this.sessionTimeoutSec !== undefined) login.timeout = this.sessionTimeoutSec;
    let res: HttpResponse;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        res = await this.call(`${node}/nitro/v1/config/login`, 'POST', { 'Content-Type': 'application/json' }, JSON.stringify({ login }));
        break;
      } catch (err) {
        const failure = classifyTransportError(err);
        if (failure.tls) throw this.tlsError('POST', 'login', node, failure, err);
        // Login changes no configuration, so repeating it is always safe, whether or not the
        // connection was made.
        if (attempt < this.attempts) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw new NitroUnreachableError(
          { appliance: this.appliance, method: 'POST', resource: 'login', httpStatus: undefined, errorcode: undefined, message: `${node} unreachable: ${failure.code || failure.detail}` },
          { cause: err },
        );
      }
    }
    const body = parseBody(res.body);
    const errorcode = typeof body.errorcode === 'number' ? body.errorcode : undefined;
    this.emit({
      node,
      method: 'POST',
      resource: 'login',
      httpStatus: res.status,
      attempt: 1,
      ms: Date.now() - started,
      outcome: res.status < 300 ? 'ok' : 'error',
      ...(errorcode !== undefined ? { errorcode } : {}),
    });
    if (res.status >= 300 || (errorcode !== undefined && errorcode !== 0)) {
      const bad = errorcode !== undefined && BAD_LOGIN_CODES.has(errorcode);
      throw new NitroError(
        {
          appliance: this.appliance,
          method: 'POST',
          resource: 'login',
          httpStatus: res.status,
          errorcode,
          message: bad
            ? `login as ${this.creds.username} refused at ${node}: invalid user name or password (check the inventory's secret reference)`
            : `${typeof body.message === 'string' ? body.message : `HTTP ${res.status}`} (login at ${node})`,
        },
        bad ? { exitCode: EXIT.invalidInput } : undefined,
      );
    }
    const fromCookie = cookieToken(res.headers['set-cookie']);
    const token = fromCookie ?? (typeof body.sessionid === 'string' ? body.sessionid : undefined);
    if (!token) {
      throw new NitroError({ appliance: this.appliance, method: 'POST', resource: 'login', httpStatus: res.status, errorcode, message: `login at ${node} returned no NITRO_AUTH_TOKEN` });
    }
    return token;
  }

  /** End every session this client opened. Best effort: a failed logout only times out. */
  async logout(): Promise<void> {
    const nodes = [...this.tokens.keys()];
    await Promise.all(
      nodes.map(async (node) => {
        const token = this.tokens.get(node);
        this.tokens.delete(node);
        if (!token) return;
        try {
          await this.call(`${node}/nitro/v1/config/logout`, 'POST', { Cookie: `NITRO_AUTH_TOKEN=${token}`, 'Content-Type': 'application/json' }, JSON.stringify({ logout: {} }));
        } catch {
          // The session expires on its own; nothing to undo.
        }
      }),
    );
  }

  /** Release sockets (call after `logout`). */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}

/** How a call that got no HTTP reply failed, told by the error's code, never by its words. */
interface TransportFailure {
  /** Node's code for the failure (ECONNRESET, ETIMEDOUT…), '' when it has none. */
  code: string;
  detail: string;
  /** The appliance's certificate failed verification or the pin: no retry will change that. */
  tls: boolean;
  /** The connection was never made (refused, no such host, no route): nothing reached the appliance. */
  nothingSent: boolean;
}

/** One reading of a transport failure for every call, logins included, so they cannot drift apart. */
function classifyTransportError(err: unknown): TransportFailure {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e.code ?? '';
  const causeCode = e.cause?.code ?? '';
  return {
    code,
    detail: `${(err as Error).message}`,
    tls: isTlsVerificationError(err),
    // src/http/request.ts hands on Node's error as it is; an error wrapped on its way (by an
    // agent, say) keeps the socket's code on its cause, which means the same.
    nothingSent: NETWORK_NOTHING_SENT.has(code) || NETWORK_NOTHING_SENT.has(causeCode),
  };
}

/** A reply that carries a NITRO JSON object, read: its errorcode, and whether it means success. */
interface ReadReply {
  body: Record<string, unknown>;
  /** The appliance's errorcode; a numeric string counts as its number. */
  errorcode: number | undefined;
  /** 2xx with no errorcode or 0. */
  ok: boolean;
  /** The appliance's message, or the HTTP status when it gave none. */
  message: string;
  /** `X-NITRO-WARNING`, when the call asked for warnings and the appliance had one. */
  warning?: string;
}

function readReply(res: HttpResponse): ReadReply {
  const body = parseBody(res.body);
  const errorcode = typeof body.errorcode === 'number' ? body.errorcode : body.errorcode !== undefined ? Number(body.errorcode) : undefined;
  const warning: unknown = res.headers['x-nitro-warning'];
  return {
    body,
    errorcode,
    ok: res.status < 300 && (errorcode === undefined || errorcode === 0),
    message: typeof body.message === 'string' ? body.message : `HTTP ${res.status}`,
    ...(typeof warning === 'string' ? { warning } : {}),
  };
}

/** What a 2xx reply that is not NITRO JSON held, in a few words, and what that suggests. */
function notNitroJsonWords(node: string, res: HttpResponse): string {
  return `${node} answered HTTP ${res.status} with something that is not NITRO JSON (${String(res.headers['content-type'] ?? 'no content-type')}: "${res.body.slice(0, 60).replace(/\s+/g, ' ')}"): is it an ADC, and the URL its NSIP/SNIP with /nitro/v1?`;
}

/**
 * The appliance's message for a refusal, with what the operator needs to know for the codes
 * whose words alone do not say what to do about them.
 */
function explainRefusal(message: string, errorcode: number | undefined, node: string): string {
  if (errorcode === undefined) return message;
  if (CLUSTER_NSIP_CODES.has(errorcode)) {
    return `${message} — ${node} is a cluster node NSIP (or a read-only session): use the cluster IP (CLIP) for configuration`;
  }
  if (errorcode === NITRO_CODE.basicAuthDisabled) return `${message} — per-request header credentials are disabled on ${node}: use session auth`;
  if (HA_PROPAGATION_CODES.has(errorcode)) {
    return `${message} — HA propagation to the secondary failed: the primary may hold the change and the secondary not; fail this step and roll back`;
  }
  if (NOT_PRIMARY_CODES.has(errorcode)) return `${message} — ${node} is not the HA primary`;
  return message;
}

/** True when a reply body is not a JSON object; an empty body passes for writes only. */
function notNitroJson(data: unknown, method: string): boolean {
  if (data === undefined || data === null || data === '') return method === 'GET';
  if (typeof data === 'object') return Array.isArray(data);
  try {
    const v: unknown = JSON.parse(String(data));
    return v === null || typeof v !== 'object' || Array.isArray(v);
  } catch {
    return true;
  }
}

function parseBody(data: unknown): Record<string, unknown> {
  if (data === undefined || data === null || data === '') return {};
  if (typeof data === 'object') return data as Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(String(data));
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function cookieToken(setCookie: string[] | string | undefined): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  for (const c of list) {
    const m = /(?:^|;\s*)NITRO_AUTH_TOKEN=([^;]+)/.exec(c);
    if (m && m[1] && m[1] !== 'deleted') return m[1];
  }
  return undefined;
}
