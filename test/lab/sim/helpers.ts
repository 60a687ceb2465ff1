// Test helpers for the simulator tests: a TLS certificate, plain NITRO calls over real HTTP.
import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { request } from '../../../src/http/request.js';
import { generateCa, issueCert, type PemPair } from '../../../src/lab/pki.js';

export interface LabTls {
  ca: PemPair;
  server: PemPair;
}

let cachedTls: LabTls | undefined;
export function labTls(): LabTls {
  if (!cachedTls) {
    const ca = generateCa('sim test CA');
    cachedTls = { ca, server: issueCert(ca, { cn: 'localhost', sans: ['localhost', '127.0.0.1'] }) };
  }
  return cachedTls;
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
  rawBody?: string;
  contentType?: string;
  timeoutMs?: number;
}

export interface NitroResult {
  status: number;
  data: Record<string, unknown> & { errorcode?: number; message?: string };
  headers: IncomingHttpHeaders;
}

export async function nitro(base: string, method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<NitroResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Cookie = `NITRO_AUTH_TOKEN=${opts.token}`;
  if (body !== undefined || opts.rawBody !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
  const res = await request({
    url: `${base}/nitro/v1/config/${path}`,
    method,
    headers,
    body: opts.rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
    timeoutMs: opts.timeoutMs,
    agent: base.startsWith('https:') ? new HttpsAgent({ ca: labTls().ca.certPem }) : undefined,
  });
  return { status: res.status, data: jsonOrText(res.body) as NitroResult['data'], headers: res.headers };
}

/** A reply body as JSON when it is JSON, as text when it is not (an error page, nothing). */
export function jsonOrText(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

export async function login(base: string, username = 'nsroot', password = 'nsroot-pass', timeout?: number): Promise<string> {
  const r = await nitro(base, 'POST', 'login', { login: { username, password, ...(timeout ? { timeout } : {}) } });
  if (r.status !== 201) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.data)}`);
  return String(r.data.sessionid);
}

export async function upload(base: string, token: string, filename: string, content: string | Buffer): Promise<NitroResult> {
  return nitro(
    base,
    'POST',
    'systemfile',
    {
      systemfile: { filename, filelocation: '/nsconfig/ssl/', filecontent: Buffer.from(content).toString('base64'), fileencoding: 'BASE64' },
    },
    { token },
  );
}

export async function addCertkey(base: string, token: string, fields: Record<string, unknown>, query = ''): Promise<NitroResult> {
  return nitro(base, 'POST', `sslcertkey${query}`, { sslcertkey: fields }, { token });
}

export const SSL_ARGS = 'args=filelocation:%2Fnsconfig%2Fssl';
