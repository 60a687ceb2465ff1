// One HTTP conversation with a gateway: a cookie jar, redirects left to the flows (a redirect
// target is itself the answer in the classic flow), and transport failures turned into the
// outcomes an operator can act on.
import type https from 'node:https';
import { HTTP_TIMEOUT_CODE } from '../errors.js';
import { request } from '../http/request.js';
import { buildHttpsAgent } from '../tls/https-agent.js';
import { CookieJar } from './cookies.js';
import type { GatewayTlsOptions, LogonOutcome } from './types.js';

export interface GatewayResponse {
  status: number;
  contentType: string;
  location?: string;
  body: string;
  /** Cookies this response set (name → value; an expired one as ''). */
  cookiesSet: Map<string, string>;
}

/** A check that ended before a verdict on the credentials; carries the outcome to report. */
export class GatewayFailure extends Error {
  constructor(
    readonly outcome: Exclude<LogonOutcome, 'ok'>,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayFailure';
  }
}

export class GatewaySession {
  readonly jar = new CookieJar();
  readonly warnings: string[] = [];
  private readonly agent: https.Agent | undefined;
  /** baseUrl without its trailing slashes: a path is joined to it, never resolved against it. */
  private readonly base: string;
  /** The gateway's origin, sent as Origin: builds since 13.1-63 refuse a logon POST without it. */
  readonly origin: string;
  readonly https: boolean;
  /** The page the next POST is made from, sent as Referer as a browser would. */
  referer: string;

  constructor(
    readonly baseUrl: string,
    tlsOpts: GatewayTlsOptions = {},
    /** For each request, from the connection to the last byte of the reply. */
    private readonly timeoutMs = 15_000,
  ) {
    this.origin = new URL(baseUrl).origin;
    this.https = baseUrl.startsWith('https:');
    this.referer = `${this.origin}/`;
    if (this.https) {
      const built = buildHttpsAgent(baseUrl, tlsOpts);
      this.agent = built.agent;
      if (tlsOpts.insecure) {
        this.warnings.push(`${baseUrl}: TLS certificate verification is OFF; anyone on the path can read the canary's credentials`);
      }
    }
    this.base = baseUrl.replace(/\/+$/, '');
  }

  async get(path: string, extra: Record<string, string> = {}): Promise<GatewayResponse> {
    return this.send('GET', path, undefined, extra);
  }

  async postForm(path: string, fields: Record<string, string>, extra: Record<string, string> = {}): Promise<GatewayResponse> {
    return this.send('POST', path, new URLSearchParams(fields).toString(), extra);
  }

  close(): void {
    this.agent?.destroy();
  }

  private async send(method: 'GET' | 'POST', path: string, body: string | undefined, extra: Record<string, string>): Promise<GatewayResponse> {
    // An absolute or protocol-relative address is sent where it points, with this session's
    // cookies (and a POST's credentials). The flows check the addresses a gateway hands them; this
    // is the last line, so a path that came from a server can never leave the gateway.
    const absolute = /^([a-z][a-z\d+.-]*:)?\/\//i.test(path);
    if (absolute) {
      const elsewhere = URL.canParse(path, this.origin) ? new URL(path, this.origin).origin : 'an address that is not a URL';
      if (elsewhere !== this.origin) throw new GatewayFailure('unexpected-page', `refused to send a ${method} to another origin (${elsewhere}) than the gateway's (${this.origin})`);
    }
    // A relative path goes under the base URL, a path the gateway is published under included.
    const url = absolute ? new URL(path, this.origin).href : path ? `${this.base}/${path.replace(/^\/+/, '')}` : this.base;
    const headers: Record<string, string> = { Accept: 'application/xml, text/xml, text/html;q=0.9, */*;q=0.1', ...extra };
    const cookie = this.jar.header();
    if (cookie) headers['Cookie'] = cookie;
    if (method === 'POST') {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Origin'] = this.origin;
      headers['Referer'] = this.referer;
    }
    try {
      const res = await request({ method, url, headers, body: body ?? (method === 'POST' ? '' : undefined), agent: this.agent, timeoutMs: this.timeoutMs });
      const setCookie: unknown = res.headers['set-cookie'];
      const list = Array.isArray(setCookie) ? setCookie.map(String) : typeof setCookie === 'string' ? [setCookie] : [];
      this.jar.store(list);
      const location: unknown = res.headers['location'];
      return {
        status: res.status,
        contentType: String(res.headers['content-type'] ?? ''),
        ...(typeof location === 'string' ? { location } : {}),
        body: res.body,
        cookiesSet: cookiesSet(list),
      };
    } catch (err) {
      throw transportFailure(err);
    }
  }
}

function cookiesSet(headers: string[]): Map<string, string> {
  const jar = new CookieJar();
  const out = new Map<string, string>();
  for (const h of headers) {
    const name = (h.split(';')[0] ?? '').split('=')[0]?.trim();
    if (!name) continue;
    jar.store(h);
    out.set(name, jar.get(name) ?? '');
  }
  return out;
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_ADC_FINGERPRINT|EPROTO$|HOSTNAME_MISMATCH)/;
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  HTTP_TIMEOUT_CODE,
]);

function transportFailure(err: unknown): GatewayFailure {
  const code = errorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code && TLS_CODES.test(code)) {
    return new GatewayFailure('tls-failure', `TLS failure: the gateway's certificate is not trusted (${code}: ${detail}); check the CA or the pinned fingerprint given for it`);
  }
  if (code && NET_CODES.has(code)) {
    return new GatewayFailure('unreachable', `gateway unreachable (${code}: ${detail})`);
  }
  return new GatewayFailure('unreachable', `gateway unreachable (${detail})`);
}

/** The error's code, or that of the error it wraps (an agent may wrap the socket's). */
function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
