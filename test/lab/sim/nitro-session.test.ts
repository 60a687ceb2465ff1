import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { labTls, login, nitro } from './helpers.js';

let sim: RunningSimulator;
let base: string;

beforeAll(async () => {
  const tls = labTls();
  sim = await startSimulator({
    appliances: [{ name: 'adc1', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass' }],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
    sessionTimeoutSec: 1,
  });
  base = sim.appliances[0].nitroUrl;
});
afterAll(async () => {
  await sim.stop();
});

describe('NITRO sessions', () => {
  it('logs in with a NITRO_AUTH_TOKEN cookie and answers with it', async () => {
    const r = await nitro(base, 'POST', 'login', { login: { username: 'nsroot', password: 'nsroot-pass' } });
    expect(r.status).toBe(201);
    expect(r.data.errorcode).toBe(0);
    const cookie = String(r.headers['set-cookie']?.[0]);
    expect(cookie).toMatch(/^NITRO_AUTH_TOKEN=##[0-9A-F]+; path=\/nitro\/v1/);
    expect(cookie).toContain(String(r.data.sessionid));
    const got = await nitro(base, 'GET', 'nsconfig', undefined, { token: String(r.data.sessionid) });
    expect(got.status).toBe(200);
    expect(got.data.errorcode).toBe(0);
  });

  it('refuses bad credentials with 354 (HTTP 401)', async () => {
    const r = await nitro(base, 'POST', 'login', { login: { username: 'nsroot', password: 'wrong' } });
    expect(r.status).toBe(401);
    expect(r.data).toMatchObject({ errorcode: 354, severity: 'ERROR' });
  });

  it('refuses a call without credentials with 352 (HTTP 401)', async () => {
    const r = await nitro(base, 'GET', 'nsconfig');
    expect(r.status).toBe(401);
    expect(r.data.errorcode).toBe(352);
  });

  it('accepts X-NITRO-USER/X-NITRO-PASS, refuses wrong ones and refuses them together with the cookie', async () => {
    const ok = await nitro(base, 'GET', 'nsconfig', undefined, { headers: { 'X-NITRO-USER': 'nsroot', 'X-NITRO-PASS': 'nsroot-pass' } });
    expect(ok.status).toBe(200);
    const bad = await nitro(base, 'GET', 'nsconfig', undefined, { headers: { 'X-NITRO-USER': 'nsroot', 'X-NITRO-PASS': 'nope' } });
    expect(bad.data.errorcode).toBe(354);
    const token = await login(base);
    const both = await nitro(base, 'GET', 'nsconfig', undefined, { token, headers: { 'X-NITRO-USER': 'nsroot', 'X-NITRO-PASS': 'nsroot-pass' } });
    expect(both.status).toBe(400);
    expect(both.data.errorcode).toBe(278);
  });

  it('ends a session on logout (1027 afterwards)', async () => {
    const token = await login(base);
    const out = await nitro(base, 'POST', 'logout', { logout: {} }, { token });
    expect(out.data.errorcode).toBe(0);
    const after = await nitro(base, 'GET', 'nsconfig', undefined, { token });
    expect(after.status).toBe(401);
    expect(after.data.errorcode).toBe(1027);
  });

  it('expires an idle session (444), while use keeps a session alive', async () => {
    const idle = await login(base);
    const busy = await login(base);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 400));
      expect((await nitro(base, 'GET', 'nsconfig', undefined, { token: busy })).status).toBe(200);
    }
    const r = await nitro(base, 'GET', 'nsconfig', undefined, { token: idle });
    expect(r.status).toBe(401);
    expect(r.data.errorcode).toBe(444);
  });

  it('honours the login timeout field over the default', async () => {
    const token = await login(base, 'nsroot', 'nsroot-pass', 60);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await nitro(base, 'GET', 'nsconfig', undefined, { token })).status).toBe(200);
  });

  it('answers an unknown resource with 258 (HTTP 404) and malformed JSON with 278 (HTTP 400)', async () => {
    const token = await login(base);
    const unknown = await nitro(base, 'GET', 'nosuchthing', undefined, { token });
    expect(unknown.status).toBe(404);
    expect(unknown.data.errorcode).toBe(258);
    const bad = await nitro(base, 'PUT', 'aaaotpparameter', undefined, { token, rawBody: '{"aaaotpparameter":' });
    expect(bad.status).toBe(400);
    expect(bad.data.errorcode).toBe(278);
  });

  it('accepts the form-encoded object=<json> body NITRO also takes', async () => {
    const token = await login(base);
    const body = `object=${encodeURIComponent(JSON.stringify({ aaaotpparameter: { maxotpdevices: 6 } }))}`;
    const r = await nitro(base, 'PUT', 'aaaotpparameter', undefined, { token, rawBody: body, contentType: 'application/x-www-form-urlencoded' });
    expect(r.data.errorcode).toBe(0);
    const got = await nitro(base, 'GET', 'aaaotpparameter', undefined, { token });
    expect(got.data.aaaotpparameter).toMatchObject({ maxotpdevices: 6 });
  });

  it('serves the same NITRO over HTTPS', async () => {
    const https = sim.appliances[0].nitroHttpsUrl;
    expect(https).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const token = await login(https);
    const r = await nitro(https, 'GET', 'hanode', undefined, { token });
    expect(r.data.hanode).toEqual([expect.objectContaining({ id: 0, state: 'Primary' })]);
  });

  it('keeps the control endpoint off unless asked (404)', async () => {
    const r = await fetch(`${base}/__lab/state`);
    expect(r.status).toBe(404);
    expect(sim.appliances[0].controlUrl).toBeUndefined();
  });
});
