import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa } from '../../src/lab/pki.js';
import type { RunningSimulator } from '../../src/lab/sim/index.js';
import { NitroClient } from '../../src/nitro/client.js';
import { getNsConfig } from '../../src/nitro/config.js';
import { NitroTlsError } from '../../src/nitro/errors.js';
import { PASS, USER, appliance, labPki, startSim } from './helpers.js';

let sim: RunningSimulator;
let httpsUrl: string;
const clients: NitroClient[] = [];
const fingerprint = (): string => new X509Certificate(labPki().server.certPem).fingerprint256;

function client(tlsOpts: ConstructorParameters<typeof NitroClient>[0]['tls'], url = httpsUrl): NitroClient {
  const c = new NitroClient({ appliance: 'adc1', nodes: [url], credentials: { username: USER, password: PASS }, tls: tlsOpts, timeoutMs: 5000, retry: { attempts: 2, baseDelayMs: 5 } });
  clients.push(c);
  return c;
}

// A TLS server with the appliance's certificate that counts application bytes: proof that a
// refused peer never received the login (and its password).
let trap: tls.Server;
let trapUrl: string;
let trapBytes = 0;

beforeAll(async () => {
  sim = await startSim([appliance('adc1')]);
  httpsUrl = sim.appliances[0].nitroHttpsUrl;
  trap = tls.createServer({ cert: labPki().server.certPem, key: labPki().server.keyPem }, (s) => {
    s.on('data', (d: Buffer) => (trapBytes += d.length));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  trapUrl = `https://127.0.0.1:${(trap.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) {
    await c.logout();
    c.close();
  }
  await new Promise<void>((r) => trap?.close(() => r()));
  await sim?.stop();
});

describe('NITRO TLS', () => {
  it('verifies the appliance against the configured CA', async () => {
    const c = client({ caPem: labPki().ca.certPem });
    expect((await getNsConfig(c)).systemtype).toBe('Stand-alone');
    expect(c.warnings).toEqual([]);
  });

  it('refuses an appliance whose certificate another CA issued', async () => {
    const other = generateCa('some other CA', { keyBits: 1024 });
    const err = await getNsConfig(client({ caPem: other.certPem })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NitroTlsError);
    expect((err as Error).message).toMatch(/TLS verification/);
  });

  it('refuses by default (no CA, no pin): the system trust store does not know the appliance', async () => {
    await expect(getNsConfig(client({}))).rejects.toBeInstanceOf(NitroTlsError);
  });

  it('accepts a pinned SHA-256 fingerprint without any CA', async () => {
    expect((await getNsConfig(client({ fingerprintSha256: fingerprint() }))).systemtype).toBe('Stand-alone');
    expect((await getNsConfig(client({ fingerprintSha256: fingerprint().replace(/:/g, '').toLowerCase() }))).systemtype).toBe('Stand-alone');
  });

  it('refuses a fingerprint mismatch before sending a single byte', async () => {
    trapBytes = 0;
    const wrong = 'ab'.repeat(32);
    const err = await getNsConfig(client({ fingerprintSha256: wrong }, trapUrl)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NitroTlsError);
    expect((err as Error).message).toMatch(/fingerprint mismatch/);
    expect((err as Error).message).not.toContain(PASS);
    expect(trapBytes).toBe(0);
    // Control: with the right pin the same trap does receive the login request.
    const ok = new NitroClient({
      appliance: 'adc1',
      nodes: [trapUrl],
      credentials: { username: USER, password: PASS },
      tls: { fingerprintSha256: fingerprint() },
      timeoutMs: 300,
      retry: { attempts: 1 },
    });
    clients.push(ok);
    await expect(getNsConfig(ok)).rejects.toThrow();
    expect(trapBytes).toBeGreaterThan(0);
  });

  it('insecure: true connects without checks and leaves a warning', async () => {
    const c = client({ insecure: true });
    expect((await getNsConfig(c)).systemtype).toBe('Stand-alone');
    expect(c.warnings.join('\n')).toMatch(/verification is OFF/);
  });

  it('rejects a malformed pin at configuration time', () => {
    expect(() => client({ fingerprintSha256: 'abc' })).toThrow(/SHA-256/);
  });
});
