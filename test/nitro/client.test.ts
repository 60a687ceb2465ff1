import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFaults, injectFault, labState, type RunningSimulator } from '../../src/lab/sim/index.js';
import { NitroClient } from '../../src/nitro/client.js';
import { NitroDryRunError, NitroError, NitroOutcomeUnknownError } from '../../src/nitro/errors.js';
import { getNsConfig, saveConfig } from '../../src/nitro/config.js';
import { getOtpParameters } from '../../src/nitro/otp-parameters.js';
import { readSystemFile, uploadSystemFile } from '../../src/nitro/systemfile.js';
import { PASS, USER, appliance, httpClient, startCountingProxy, startSim, type CountingProxy } from './helpers.js';

let sim: RunningSimulator;
let proxy: CountingProxy;
let control: string;
const clients: NitroClient[] = [];

function client(extra: Parameters<typeof httpClient>[1] = {}): NitroClient {
  const c = httpClient([proxy.url], extra);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  sim = await startSim([appliance('adc1')]);
  control = sim.appliances[0].controlUrl!;
  proxy = await startCountingProxy(sim.appliances[0].nitroUrl);
});

afterAll(async () => {
  for (const c of clients) {
    await c.logout();
    c.close();
  }
  await proxy?.stop();
  await sim?.stop();
});

function mark(): number {
  return proxy.seen.length;
}
function since(m: number): { method: string; url: string; body: string }[] {
  return proxy.seen.slice(m);
}

describe('NitroClient session and auth', () => {
  it('logs in once with the cookie, reuses it, and logs out', async () => {
    const c = client();
    const m = mark();
    const ns = await getNsConfig(c);
    expect(ns.systemtype).toBe('Stand-alone');
    await getOtpParameters(c);
    const reqs = since(m);
    expect(reqs.filter((r) => r.url.endsWith('/config/login'))).toHaveLength(1);
    expect(reqs).toHaveLength(3);
    await c.logout();
    expect(proxy.seen.at(-1)!.url).toBe('/nitro/v1/config/logout');
    // A later call logs in again on its own.
    await getNsConfig(c);
    expect(since(m).filter((r) => r.url.endsWith('/config/login'))).toHaveLength(2);
  });

  it('per-request header auth sends no login at all', async () => {
    const c = client({ auth: 'headers' });
    const m = mark();
    await getNsConfig(c);
    expect(since(m).map((r) => r.url)).toEqual(['/nitro/v1/config/nsconfig']);
  });

  it('1244 (header auth disabled) says to use session auth', async () => {
    const c = client({ auth: 'headers' });
    await injectFault(control, { on: 'GET nsconfig', errorcode: 1244 });
    const err = await getNsConfig(c).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(1244);
    expect((err as Error).message).toMatch(/use session auth/);
  });

  it('a dry run with header auth sends nothing but GETs', async () => {
    const c = client({ auth: 'headers', dryRun: true });
    const m = mark();
    await getNsConfig(c);
    await expect(saveConfig(c)).rejects.toBeInstanceOf(NitroDryRunError);
    await c.logout();
    expect(since(m).map((r) => r.method)).toEqual(['GET']);
  });

  it('wrong password (354) fails at once, without retry or re-login, and without the password in the message', async () => {
    const c = new NitroClient({ appliance: 'adc1', nodes: [proxy.url], credentials: { username: USER, password: 'not-the-pass' }, tls: { insecure: true }, retry: { attempts: 4, baseDelayMs: 5 } });
    clients.push(c);
    const m = mark();
    const err = await getNsConfig(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NitroError);
    expect((err as NitroError).errorcode).toBe(354);
    expect((err as NitroError).exitCode).toBe(2);
    expect((err as Error).message).not.toContain('not-the-pass');
    expect(since(m)).toHaveLength(1);
  });

  it('a session that expires mid-run (444) is renewed once and the call repeated', async () => {
    const c = client({ sessionTimeoutSec: 1 });
    const m = mark();
    await getNsConfig(c);
    await new Promise((r) => setTimeout(r, 1300));
    await getNsConfig(c);
    const urls = since(m).map((r) => r.url);
    expect(urls).toEqual(['/nitro/v1/config/login', '/nitro/v1/config/nsconfig', '/nitro/v1/config/nsconfig', '/nitro/v1/config/login', '/nitro/v1/config/nsconfig']);
  });

  it.each([352, 444, 1027])('errorcode %i on a write: log in again once and repeat it', async (code) => {
    const c = client();
    await getNsConfig(c);
    await injectFault(control, { on: 'PUT aaaotpparameter', errorcode: code });
    const m = mark();
    await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 5 } } });
    expect(since(m).map((r) => `${r.method} ${r.url}`)).toEqual(['PUT /nitro/v1/config/aaaotpparameter', 'POST /nitro/v1/config/login', 'PUT /nitro/v1/config/aaaotpparameter']);
    expect((await getOtpParameters(c)).maxotpdevices).toBe(5);
  });

  it('re-logs in only once: a second session error is reported', async () => {
    const c = client();
    await injectFault(control, { on: 'GET nsconfig', errorcode: 1027, times: 2 });
    const err = await getNsConfig(c).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(1027);
    await clearFaults(control);
  });
});

describe('NitroClient retries and failures', () => {
  it.each([293, 412, 1461])('busy code %i on a write is retried with back-off', async (code) => {
    const c = client();
    await injectFault(control, { on: 'POST nsconfig?action=save', errorcode: code, times: 2 });
    const m = mark();
    await saveConfig(c);
    expect(since(m).filter((r) => r.url.includes('action=save'))).toHaveLength(3);
  });

  it('gives up on a busy code after the configured attempts', async () => {
    const c = client({ retry: { attempts: 2, baseDelayMs: 5 } });
    await injectFault(control, { on: 'PUT aaaotpparameter', errorcode: 293, times: 5 });
    const err = await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 4 } } }).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(293);
    expect((await labState(control)).faults).toHaveLength(1);
    await clearFaults(control);
  });

  it('a non-busy error on a write is not retried', async () => {
    const c = client();
    await injectFault(control, { on: 'PUT aaaotpparameter', errorcode: 278, times: 2 });
    const err = await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 4 } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NitroError);
    expect(err).toMatchObject({ errorcode: 278, httpStatus: 400, method: 'PUT', resource: 'aaaotpparameter', appliance: 'adc1' });
    expect((await labState(control)).faults).toHaveLength(1); // one of two uses left: sent once
    await clearFaults(control);
  });

  it('a dropped read is retried', async () => {
    const c = client();
    await injectFault(control, { on: 'GET nsconfig', drop: true });
    expect((await getNsConfig(c)).systemtype).toBe('Stand-alone');
  });

  it('a dropped write is "outcome unknown"; re-reading shows what happened', async () => {
    const c = client();
    await injectFault(control, { on: 'POST systemfile', drop: true });
    const err = await uploadSystemFile(c, 'dropped.pem', Buffer.from('abc')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NitroOutcomeUnknownError);
    expect((err as Error).message).toMatch(/re-read/);
    expect((await readSystemFile(c, 'dropped.pem'))?.toString()).toBe('abc');
  });

  it('a write that times out is "outcome unknown" too', async () => {
    const c = client({ timeoutMs: 300 });
    await injectFault(control, { on: 'PUT aaaotpparameter', delayMs: 1000 });
    const err = await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 6 } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NitroOutcomeUnknownError);
    await new Promise((r) => setTimeout(r, 800));
    expect((await getOtpParameters(c)).maxotpdevices).toBe(6);
  });

  it.each([1044, 1203])('errorcode %i says to use the cluster IP', async (code) => {
    const c = client();
    await injectFault(control, { on: 'POST nsconfig?action=save', errorcode: code });
    const err = await saveConfig(c).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(code);
    expect((err as Error).message).toMatch(/use the cluster IP/);
  });

  it.each([347, 349, 457, 458])('HA propagation failure %i fails the call with advice to roll back', async (code) => {
    const c = client();
    await injectFault(control, { on: 'POST nsconfig?action=save', errorcode: code });
    const err = await saveConfig(c).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(code);
    expect((err as Error).message).toMatch(/HA propagation.*roll back/);
  });

  it('258 on a read is "absent", not an error', async () => {
    const c = client();
    expect(await c.getList('sslcertkey', 'no-such-certkey')).toBeUndefined();
    expect(await readSystemFile(c, 'no-such-file.pem')).toBeUndefined();
  });

  it('an unreachable appliance is reported after the retries', async () => {
    const c = httpClient(['http://127.0.0.1:1'], { retry: { attempts: 2, baseDelayMs: 5 } });
    clients.push(c);
    await expect(getNsConfig(c)).rejects.toThrow(/unreachable/);
  });
});

describe('dry run', () => {
  it('sends no write to the appliance, records each one redacted, and still reads', async () => {
    const before = await labState(control);
    const c = client({ dryRun: true });
    const m = mark();
    expect((await getNsConfig(c)).systemtype).toBe('Stand-alone');
    const secretKey = '-----BEGIN RSA PRIVATE KEY-----\nSECRET\n-----END RSA PRIVATE KEY-----\n';
    await expect(uploadSystemFile(c, 'dry.key', Buffer.from(secretKey))).rejects.toBeInstanceOf(NitroDryRunError);
    await expect(c.request({ method: 'POST', resource: 'sslcertkey', body: { sslcertkey: { certkey: 'x', cert: 'a', key: 'b', passplain: 'pfx-pass-123', password: true } } })).rejects.toBeInstanceOf(
      NitroDryRunError,
    );
    await expect(saveConfig(c)).rejects.toBeInstanceOf(NitroDryRunError);

    expect(since(m).filter((r) => r.method !== 'GET' && !/login|logout/.test(r.url))).toEqual([]);
    expect(c.wouldSend.map((w) => `${w.method} ${w.path}${w.query}`)).toEqual(['POST /nitro/v1/config/systemfile', 'POST /nitro/v1/config/sslcertkey', 'POST /nitro/v1/config/nsconfig?action=save']);
    const recorded = JSON.stringify(c.wouldSend);
    expect(recorded).not.toContain('pfx-pass-123');
    expect(recorded).not.toContain(Buffer.from(secretKey).toString('base64'));
    expect(recorded).toContain('[REDACTED]');
    const after = await labState(control);
    expect(after.files).toEqual(before.files);
    expect(after.certkeys).toEqual(before.certkeys);
    expect(after.configChanged).toBe(before.configChanged);
  });

  it('events carry no request bodies or credentials', async () => {
    const events: unknown[] = [];
    const c = client({ onEvent: (e) => events.push(e) });
    await uploadSystemFile(c, 'evt.key', Buffer.from('PRIVATE-KEY-CONTENT'));
    const text = JSON.stringify(events);
    expect(events.length).toBeGreaterThan(0);
    expect(text).not.toContain(Buffer.from('PRIVATE-KEY-CONTENT').toString('base64'));
    expect(text).not.toContain(PASS);
  });
});

describe('configuration checks', () => {
  it('refuses plain HTTP unless insecure is set, and warns when it is', () => {
    expect(() => new NitroClient({ appliance: 'adc1', nodes: [sim.appliances[0].nitroUrl], credentials: { username: USER, password: PASS } })).toThrow(/plain HTTP/);
    const c = httpClient([sim.appliances[0].nitroUrl]);
    clients.push(c);
    expect(c.warnings.join('\n')).toMatch(/plain HTTP/);
    expect(c.warnings.join('\n')).toMatch(/verification is OFF/);
  });
});
