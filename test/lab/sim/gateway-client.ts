// A plain-HTTP gateway client for the simulator tests (the product has its own in src/gateway).
import axios from 'axios';
import { Agent as HttpsAgent } from 'node:https';
import { labTls } from './helpers.js';

export interface NfResult {
  result: string;
  error?: string;
  stateContext: string;
  cookie?: string;
  contentType: string;
}

function client() {
  return axios.create({ validateStatus: () => true, maxRedirects: 0, httpsAgent: new HttpsAgent({ ca: labTls().ca.certPem }), responseType: 'text' });
}

function tag(xml: string, name: string): string | undefined {
  return xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];
}

function parseNf(xml: string, headers: Record<string, unknown>): NfResult {
  const error = xml.match(/<Label><Text>([^<]*)<\/Text><Type>error<\/Type><\/Label>/)?.[1];
  const setCookie = (headers['set-cookie'] as string[] | undefined) ?? [];
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
  const r = await client().post(`${gw}/nf/auth/getAuthenticationRequirements.do`, '');
  return { ...parseNf(String(r.data), r.headers), xml: String(r.data) };
}

export async function nfLogon(gw: string, login: string, passwd: string, passwd1: string): Promise<NfResult> {
  const first = await nfGetRequirements(gw);
  const body = new URLSearchParams({ login, passwd, passwd1, StateContext: first.stateContext }).toString();
  const r = await client().post(`${gw}/nf/auth/doAuthentication.do`, body, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  return parseNf(String(r.data), r.headers);
}

export async function classicLogon(gw: string, login: string, passwd: string, passwd1: string): Promise<{ status: number; location: string; cookies: string[] }> {
  const c = client();
  const page = await c.get(`${gw}/vpn/index.html`);
  const jar = (page.headers['set-cookie'] ?? []).map((s) => s.split(';')[0]).join('; ');
  const r = await c.post(`${gw}/cgi/login`, new URLSearchParams({ login, passwd, passwd1 }).toString(), {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: jar },
  });
  return { status: r.status, location: String(r.headers.location), cookies: r.headers['set-cookie'] ?? [] };
}

export async function register(gw: string, fields: Record<string, string>, json = false): Promise<{ status: number; data: Record<string, unknown> }> {
  const r = await client().post(`${gw}/manageotp/register`, json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(), {
    headers: { 'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
    responseType: 'json',
  });
  return { status: r.status, data: r.data as Record<string, unknown> };
}

/** One raw nFactor post, for multi-round policies. */
export async function nfPost(gw: string, fields: Record<string, string>): Promise<NfResult & { xml: string }> {
  const r = await client().post(`${gw}/nf/auth/doAuthentication.do`, new URLSearchParams(fields).toString(), {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  return { ...parseNf(String(r.data), r.headers), xml: String(r.data) };
}
