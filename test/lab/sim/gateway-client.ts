// A plain-HTTP gateway client for the simulator tests (the product has its own in src/gateway).
import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { request, type HttpResponse } from '../../../src/http/request.js';
import { jsonOrText, labTls } from './helpers.js';

export interface NfResult {
  result: string;
  error?: string;
  stateContext: string;
  cookie?: string;
  contentType: string;
}

/** One request as a browser's script would make it: no redirect followed, any status a reply. */
export function gatewayRequest(method: 'GET' | 'POST', url: string, body?: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return request({ method, url, headers, body, agent: url.startsWith('https:') ? new HttpsAgent({ ca: labTls().ca.certPem }) : undefined });
}

function tag(xml: string, name: string): string | undefined {
  return xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
}

function parseNf(xml: string, headers: IncomingHttpHeaders): NfResult {
  const error = xml.match(/<Label><Text>([^<]*)<\/Text><Type>error<\/Type><\/Label>/)?.[1];
  const setCookie = headers['set-cookie'] ?? [];
  const cookie = setCookie.find((c) => c.startsWith('NSC_AAAC='));
  return {
    result: tag(xml, 'Result') ?? '',
    stateContext: tag(xml, 'StateContext') ?? '',
    contentType: String(headers['content-type']),
    ...(error ? { error } : {}),
    ...(cookie ? { cookie } : {}),
  };
}

export async function nfGetRequirements(gw: string): Promise<NfResult & { xml: string }> {
  const r = await gatewayRequest('POST', `${gw}/nf/auth/getAuthenticationRequirements.do`, '');
  return { ...parseNf(r.body, r.headers), xml: r.body };
}

export async function nfLogon(gw: string, login: string, passwd: string, passwd1: string): Promise<NfResult> {
  const first = await nfGetRequirements(gw);
  const body = new URLSearchParams({ login, passwd, passwd1, StateContext: first.stateContext }).toString();
  const r = await gatewayRequest('POST', `${gw}/nf/auth/doAuthentication.do`, body, { 'Content-Type': 'application/x-www-form-urlencoded' });
  return parseNf(r.body, r.headers);
}

export async function classicLogon(gw: string, login: string, passwd: string, passwd1: string): Promise<{ status: number; location: string; cookies: string[] }> {
  const page = await gatewayRequest('GET', `${gw}/vpn/index.html`);
  const jar = (page.headers['set-cookie'] ?? []).map((s) => s.split(';')[0]).join('; ');
  const r = await gatewayRequest('POST', `${gw}/cgi/login`, new URLSearchParams({ login, passwd, passwd1 }).toString(), { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: jar });
  return { status: r.status, location: String(r.headers.location), cookies: r.headers['set-cookie'] ?? [] };
}

export async function register(gw: string, fields: Record<string, string>, json = false): Promise<{ status: number; data: Record<string, unknown> }> {
  const r = await gatewayRequest('POST', `${gw}/manageotp/register`, json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(), {
    'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded',
  });
  return { status: r.status, data: jsonOrText(r.body) as Record<string, unknown> };
}

/** One raw nFactor post, for multi-round policies. */
export async function nfPost(gw: string, fields: Record<string, string>): Promise<NfResult & { xml: string }> {
  const r = await gatewayRequest('POST', `${gw}/nf/auth/doAuthentication.do`, new URLSearchParams(fields).toString(), { 'Content-Type': 'application/x-www-form-urlencoded' });
  return { ...parseNf(r.body, r.headers), xml: r.body };
}
