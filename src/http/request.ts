// The product's one HTTP client, for NITRO calls and the gateway logon check. It is this small on
// purpose: every command that talks to an appliance starts a Node process, and a general-purpose
// client with redirects, proxies and form encoders costs more start-up than all of this does.
// What the callers rely on:
// - a redirect is an answer like any other (the classic logon flow reads its Location), never
//   followed: following one would carry cookies and credentials where the caller did not check;
// - any status is a reply, not an error: the caller reads NITRO's errorcode from a 4xx/5xx body;
// - a failure rejects with the error Node gave (its code kept: ECONNREFUSED, ECONNRESET,
//   ETIMEDOUT, a TLS verification code, the pinning agent's own), so callers can tell a request
//   that never left from one whose outcome is unknown;
// - timeoutMs bounds the whole call, connection to the last byte of the body: a reply still
//   trickling in at the deadline is as unusable as none. Its failure carries HTTP_TIMEOUT_CODE;
// - no proxy is set up (one would see the credentials), and no size limit is put on a reply.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { HTTP_TIMEOUT_CODE } from '../errors.js';

export interface HttpRequest {
  method: string;
  url: string | URL;
  headers?: Readonly<Record<string, string>>;
  body?: string;
  /** The agent for the URL's protocol (an https.Agent for https:); Node's global agent if none. */
  agent?: http.Agent | undefined;
  /** Deadline for the whole call, from now to the end of the reply; none when 0 or absent. */
  timeoutMs?: number | undefined;
  /** Aborting rejects with an AbortError (code ABORT_ERR), as Node's own APIs do. */
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  /** As Node parsed them: lower-case names, set-cookie always a list, other repeats joined. */
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text, without a byte-order mark. */
  body: string;
}

/** No complete reply within the deadline; the request may or may not have reached the server. */
export class HttpTimeoutError extends Error {
  readonly code = HTTP_TIMEOUT_CODE;
  constructor(readonly timeoutMs: number) {
    super(`no complete reply within the ${timeoutMs} ms timeout`);
    this.name = 'HttpTimeoutError';
  }
}

// TCP keep-alive probes on a connection idle this long, so a peer that vanished during a slow
// call (a save config under load) is noticed even when the call's timeout is long.
const TCP_KEEPALIVE_MS = 60_000;

export function request(req: HttpRequest): Promise<HttpResponse> {
  // What throws in here before the request is under way (a bad URL, a bad header) rejects.
  return new Promise<HttpResponse>((resolve, reject) => {
    const { signal } = req;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const url = new URL(req.url);
    const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!transport) {
      reject(new Error(`${url.protocol} is not HTTP or HTTPS (${url.origin})`));
      return;
    }
    const headers: Record<string, string> = { ...req.headers };
    const has = (name: string): boolean => Object.keys(headers).some((h) => h.toLowerCase() === name);
    if (!has('user-agent')) headers['User-Agent'] = 'adc-cutover';
    if (req.body !== undefined && !has('content-length')) headers['Content-Length'] = String(Buffer.byteLength(req.body));

    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (err: Error | undefined, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    };
    const giveUp = (err: Error): void => {
      settle(err);
      sent.destroy();
    };
    const onAbort = (): void => giveUp(abortError(signal!));

    const sent = transport.request(url, { method: req.method, headers, agent: req.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => settle(err));
      // Node reports a connection cut mid-body as an error; this covers a close it did not.
      res.on('close', () => {
        if (!res.complete) settle(Object.assign(new Error('the connection closed before the reply was complete'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        // The whole reply came within the deadline; decoding it is our time, not the server's.
        if (timer) clearTimeout(timer);
        decodeBody(Buffer.concat(chunks), res.headers).then(
          ({ body, headers: decodedHeaders }) => settle(undefined, { status: res.statusCode ?? 0, headers: decodedHeaders, body }),
          (err: Error) => settle(err),
        );
      });
    });
    // Errors after the call settled (a destroyed socket) still need a listener, or they would throw.
    sent.on('error', (err) => settle(err));
    sent.on('socket', (socket: Socket) => socket.setKeepAlive?.(true, TCP_KEEPALIVE_MS));
    if (req.timeoutMs && req.timeoutMs > 0) {
      const ms = req.timeoutMs;
      timer = setTimeout(() => giveUp(new HttpTimeoutError(ms)), ms);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    sent.end(req.body);
  });
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('the request was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

/**
 * The body as text. We never ask for a compressed reply, but a server (or a proxy in front of it)
 * may send one anyway; it is decoded rather than handed on as bytes that would read as garbage.
 */
async function decodeBody(raw: Buffer, headers: http.IncomingHttpHeaders): Promise<{ body: string; headers: http.IncomingHttpHeaders }> {
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  let bytes = raw;
  let out = headers;
  if (raw.length > 0 && ['gzip', 'x-gzip', 'deflate', 'br'].includes(encoding)) {
    const zlib = await import('node:zlib');
    if (encoding === 'br') bytes = zlib.brotliDecompressSync(raw);
    else if (encoding !== 'deflate') bytes = zlib.unzipSync(raw);
    else {
      // "deflate" is meant to be zlib-wrapped, but some servers send it raw.
      try {
        bytes = zlib.inflateSync(raw);
      } catch {
        bytes = zlib.inflateRawSync(raw);
      }
    }
    out = { ...headers };
    delete out['content-encoding'];
  }
  const text = bytes.toString('utf8');
  return { body: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, headers: out };
}
