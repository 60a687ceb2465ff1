// Shared set-up for the NITRO tests: lab PKI, a simulator, clients, and a counting reverse proxy
// that shows exactly which requests reached the appliance.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateCa, issueCert, selfSignedCert, type PemPair } from '../../src/lab/pki.js';
import { startSimulator, type RunningSimulator, type SimulatorConfig } from '../../src/lab/sim/index.js';
import { NitroClient, type NitroClientOptions } from '../../src/nitro/client.js';

export const USER = 'nsroot';
export const PASS = 'Sim-Pass-9f3c';

let pki: { ca: PemPair; server: PemPair } | undefined;
export function labPki(): { ca: PemPair; server: PemPair } {
  pki ??= (() => {
    const ca = generateCa('adc-cutover test CA');
    return { ca, server: issueCert(ca, { cn: '127.0.0.1', sans: ['127.0.0.1', 'localhost'] }) };
  })();
  return pki;
}

export type ApplianceSpec = SimulatorConfig['appliances'][number];

export function appliance(name: string, extra: Partial<ApplianceSpec> = {}): ApplianceSpec {
  return { name, firmware: 'multi', username: USER, password: PASS, ...extra };
}

export async function startSim(appliances: ApplianceSpec[], extra: Partial<SimulatorConfig> = {}): Promise<RunningSimulator> {
  return startSimulator({ appliances, tls: labPki().server, control: true, ...extra });
}

/** A client over plain HTTP (the tests' default; TLS has its own tests). */
export function httpClient(urls: string[], extra: Partial<NitroClientOptions> = {}): NitroClient {
  return new NitroClient({
    appliance: 'adc1',
    nodes: urls,
    credentials: { username: USER, password: PASS },
    tls: { insecure: true },
    timeoutMs: 5000,
    retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 },
    ...extra,
  });
}

export function otpCert(cn: string, opts: { notBefore?: Date; notAfter?: Date } = {}): PemPair {
  return selfSignedCert({ cn, keyBits: 1024, ...opts });
}

export interface SeenRequest {
  method: string;
  url: string;
  body: string;
}

export interface CountingProxy {
  url: string;
  seen: SeenRequest[];
  writes(): SeenRequest[];
  stop(): Promise<void>;
}

/** Forwards to `target` and records every request (method, URL, body) that went through. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const seen: SeenRequest[] = [];
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? 'GET', url: req.url ?? '', body: body.toString('utf8') });
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.socket?.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    writes: () => seen.filter((s) => s.method !== 'GET' && !/\/config\/(login|logout)\b/.test(s.url)),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
