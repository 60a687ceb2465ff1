import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCert } from '../../../src/lab/pki.js';
import { clearFaults, injectFault, labState, startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { addCertkey, labTls, login, nitro, upload } from './helpers.js';

let sim: RunningSimulator;
let base: string;
let control: string;
let token: string;

beforeAll(async () => {
  const tls = labTls();
  sim = await startSimulator({
    appliances: [{ name: 'adc1', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass' }],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
    control: true,
  });
  base = sim.appliances[0].nitroUrl;
  control = sim.appliances[0].controlUrl!;
  token = await login(base);
});
afterAll(async () => {
  await sim.stop();
});

describe('fault injection', () => {
  it('answers a matching request with the injected errorcode and its HTTP status, once by default', async () => {
    await injectFault(control, { on: 'POST nsconfig?action=save', errorcode: 293 });
    const first = await nitro(base, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token });
    expect(first.data).toMatchObject({ errorcode: 293, severity: 'ERROR' });
    expect(first.status).toBe(599);
    expect((await nitro(base, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token })).data.errorcode).toBe(0);
  });

  it('matches method, resource and action exactly', async () => {
    await injectFault(control, { on: 'PUT vpnglobal_sslcertkey_binding', errorcode: 1461, times: 2 });
    expect((await nitro(base, 'GET', 'vpnglobal_sslcertkey_binding', undefined, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'PUT', 'vpnglobal_sslcertkey_binding', { vpnglobal_sslcertkey_binding: { userdataencryptionkey: 'x' } }, { token })).data.errorcode).toBe(1461);
    expect((await nitro(base, 'PUT', 'vpnglobal_sslcertkey_binding', { vpnglobal_sslcertkey_binding: { userdataencryptionkey: 'x' } }, { token })).data.errorcode).toBe(1461);
    expect((await nitro(base, 'PUT', 'vpnglobal_sslcertkey_binding', { vpnglobal_sslcertkey_binding: { userdataencryptionkey: 'x' } }, { token })).data.errorcode).toBe(1540);
  });

  it('skip lets the first matching requests through, then the fault applies', async () => {
    await injectFault(control, { on: 'POST nsconfig?action=save', errorcode: 278, skip: 2 });
    for (let i = 0; i < 2; i++) expect((await nitro(base, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token })).data.errorcode).toBe(278);
    expect((await nitro(base, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token })).data.errorcode).toBe(0);
    await expect(injectFault(control, { on: 'POST nsconfig?action=save', errorcode: 278, skip: -1 })).rejects.toThrow(/skip/);
  });

  it('drop on a write applies it and closes the connection without a reply (outcome unknown)', async () => {
    const pair = selfSignedCert({ cn: 'dropped' });
    await upload(base, token, 'd.crt', pair.certPem);
    await upload(base, token, 'd.key', pair.keyPem);
    await injectFault(control, { on: 'POST sslcertkey', drop: true });
    await expect(addCertkey(base, token, { certkey: 'dropped', cert: 'd.crt', key: 'd.key' })).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await nitro(base, 'GET', 'sslcertkey/dropped', undefined, { token })).data.errorcode).toBe(0);
    expect((await labState(control)).certkeys.map((c) => c.certkey)).toContain('dropped');
  });

  it('drop on a read closes the connection', async () => {
    await injectFault(control, { on: 'GET hanode', drop: true });
    await expect(nitro(base, 'GET', 'hanode', undefined, { token })).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect((await nitro(base, 'GET', 'hanode', undefined, { token })).data.errorcode).toBe(0);
  });

  it('delays a reply, then answers normally', async () => {
    await injectFault(control, { on: 'GET nsconfig', delayMs: 400 });
    const t0 = Date.now();
    expect((await nitro(base, 'GET', 'nsconfig', undefined, { token })).data.errorcode).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
  });

  it('matches a named resource and clears every fault on DELETE', async () => {
    await injectFault(control, { on: 'GET sslcertkey/dropped', errorcode: 258, times: 5 });
    expect((await nitro(base, 'GET', 'sslcertkey', undefined, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'GET', 'sslcertkey/dropped', undefined, { token })).data.errorcode).toBe(258);
    expect((await labState(control)).faults).toEqual(['GET sslcertkey/dropped']);
    await clearFaults(control);
    expect((await nitro(base, 'GET', 'sslcertkey/dropped', undefined, { token })).data.errorcode).toBe(0);
  });

  it('holdUntil: a write gets no reply and lands only after the trigger request has been served', async () => {
    const key = 'held';
    const pair = selfSignedCert({ cn: key });
    await upload(base, token, 'h.crt', pair.certPem);
    await upload(base, token, 'h.key', pair.keyPem);
    await addCertkey(base, token, { certkey: key, cert: 'h.crt', key: 'h.key' });
    const bound = async () => (await labState(control)).bindings.filter((b) => b.kind === 'userdataencryptionkey').map((b) => b.certkey);
    await injectFault(control, { on: 'PUT vpnglobal_sslcertkey_binding', holdUntil: 'GET nsconfig' });
    const put = nitro(base, 'PUT', 'vpnglobal_sslcertkey_binding', { vpnglobal_sslcertkey_binding: { userdataencryptionkey: key } }, { token, timeoutMs: 300 });
    await expect(put).rejects.toThrow(/timeout/);
    await new Promise((r) => setTimeout(r, 200));
    expect(await bound()).not.toContain(key); // still held: no time limit, only the trigger
    expect((await nitro(base, 'GET', 'nsconfig', undefined, { token })).data.errorcode).toBe(0);
    expect(await bound()).toContain(key);
    await nitro(base, 'DELETE', `vpnglobal_sslcertkey_binding?args=userdataencryptionkey:${key}`, undefined, { token });
  });

  it('refuses a malformed fault', async () => {
    await expect(injectFault(control, { on: 'nonsense', errorcode: 1 })).rejects.toThrow(/400/);
    await expect(injectFault(control, { on: 'GET nsconfig' })).rejects.toThrow(/errorcode, drop, delayMs, holdUntil or reply/);
    await expect(injectFault(control, { on: 'PUT aaaotpparameter', reply: { x: 1 } })).rejects.toThrow(/give a GET rule/);
  });
});
