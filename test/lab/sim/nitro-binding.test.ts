import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCert } from '../../../src/lab/pki.js';
import { startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { labTls, login, nitro } from './helpers.js';

const BIND = 'vpnglobal_sslcertkey_binding';
let sim: RunningSimulator;

function preloadOf(names: string[]) {
  const pairs = names.map((n) => ({ n, p: selfSignedCert({ cn: n }) }));
  return {
    files: pairs.flatMap(({ n, p }) => [
      { name: `${n}.crt`, content: p.certPem },
      { name: `${n}.key`, content: p.keyPem },
    ]),
    certkeys: pairs.map(({ n }) => ({ certkey: n, cert: `${n}.crt`, key: `${n}.key` })),
  };
}

beforeAll(async () => {
  const tls = labTls();
  const pre = preloadOf(['old', 'new', 'third']);
  sim = await startSimulator({
    appliances: [
      { name: 'multi', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass', preload: { ...pre, userDataEncryptionKeys: ['old'], otpEncryption: 'ON' } },
      { name: 'single', firmware: 'single', username: 'nsroot', password: 'nsroot-pass', preload: { ...pre, userDataEncryptionKeys: ['old'], otpEncryption: 'ON' } },
      { name: 'empty', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass', preload: pre },
    ],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
  });
});
afterAll(async () => {
  await sim.stop();
});

function url(name: string): string {
  return sim.appliances.find((a) => a.name === name)!.nitroUrl;
}

describe('vpnglobal_sslcertkey_binding (userDataEncryptionKey)', () => {
  it('reads an empty binding as errorcode 0 with no resource key', async () => {
    const token = await login(url('empty'));
    const r = await nitro(url('empty'), 'GET', BIND, undefined, { token });
    expect(r.data.errorcode).toBe(0);
    expect(r.data).not.toHaveProperty(BIND);
  });

  it('multi firmware: binds several (PUT and POST) in order, refuses a repeat (273) and an unknown certkey (1540)', async () => {
    const base = url('multi');
    const token = await login(base);
    expect((await nitro(base, 'PUT', BIND, { [BIND]: { userdataencryptionkey: 'new' } }, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'POST', BIND, { [BIND]: { userdataencryptionkey: 'third' } }, { token })).data.errorcode).toBe(0);
    const read = await nitro(base, 'GET', BIND, undefined, { token });
    expect(read.data[BIND]).toEqual([{ userdataencryptionkey: 'old' }, { userdataencryptionkey: 'new' }, { userdataencryptionkey: 'third' }]);
    expect((await nitro(base, 'PUT', BIND, { [BIND]: { userdataencryptionkey: 'new' } }, { token })).data.errorcode).toBe(273);
    expect((await nitro(base, 'PUT', BIND, { [BIND]: { userdataencryptionkey: 'ghost' } }, { token })).data.errorcode).toBe(1540);
  });

  it('unbinds with DELETE ?args=userdataencryptionkey:X, 1542 when not bound', async () => {
    const base = url('multi');
    const token = await login(base);
    expect((await nitro(base, 'DELETE', `${BIND}?args=userdataencryptionkey:third`, undefined, { token })).data.errorcode).toBe(0);
    const again = await nitro(base, 'DELETE', `${BIND}?args=userdataencryptionkey:third`, undefined, { token });
    expect(again.data.errorcode).toBe(1542);
    expect(again.status).toBe(599);
    const read = await nitro(base, 'GET', BIND, undefined, { token });
    expect(read.data[BIND]).toEqual([{ userdataencryptionkey: 'old' }, { userdataencryptionkey: 'new' }]);
  });

  it('single firmware: a second key fails (278 naming the bound one); unbind then bind works', async () => {
    const base = url('single');
    const token = await login(base);
    const second = await nitro(base, 'PUT', BIND, { [BIND]: { userdataencryptionkey: 'new' } }, { token });
    expect(second.data.errorcode).toBe(278);
    expect(second.data.message).toContain('old');
    expect((await nitro(base, 'DELETE', `${BIND}?args=userdataencryptionkey:old`, undefined, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'PUT', BIND, { [BIND]: { userdataencryptionkey: 'new' } }, { token })).data.errorcode).toBe(0);
    const read = await nitro(base, 'GET', BIND, undefined, { token });
    expect(read.data[BIND]).toEqual([{ userdataencryptionkey: 'new' }]);
  });
});

describe('aaaotpparameter and nsconfig', () => {
  it('reads the OTP parameters (preloaded ON, default 4 devices) and sets them; refuses bad values (278)', async () => {
    const base = url('multi');
    const token = await login(base);
    expect((await nitro(base, 'GET', 'aaaotpparameter', undefined, { token })).data.aaaotpparameter).toEqual({ encryption: 'ON', maxotpdevices: 4 });
    const empty = await nitro(url('empty'), 'GET', 'aaaotpparameter', undefined, { token: await login(url('empty')) });
    expect(empty.data.aaaotpparameter).toEqual({ encryption: 'OFF', maxotpdevices: 4 });
    expect((await nitro(base, 'PUT', 'aaaotpparameter', { aaaotpparameter: { encryption: 'MAYBE' } }, { token })).data.errorcode).toBe(278);
    expect((await nitro(base, 'PUT', 'aaaotpparameter', { aaaotpparameter: { maxotpdevices: 5 } }, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'GET', 'aaaotpparameter', undefined, { token })).data.aaaotpparameter).toEqual({ encryption: 'ON', maxotpdevices: 5 });
  });

  it('tracks configchanged: every write sets it, save clears it', async () => {
    const base = url('empty');
    const token = await login(base);
    const before = (await nitro(base, 'GET', 'nsconfig', undefined, { token })).data.nsconfig as Record<string, unknown>;
    expect(before).toMatchObject({ systemtype: 'Stand-alone', configchanged: false });
    expect(before.ipaddress).toBe(before.primaryip);
    expect(String(before.lastconfigsavetime)).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/);
    await nitro(base, 'PUT', BIND, { [BIND]: { userdataencryptionkey: 'new' } }, { token });
    expect(((await nitro(base, 'GET', 'nsconfig', undefined, { token })).data.nsconfig as Record<string, unknown>).configchanged).toBe(true);
    expect((await nitro(base, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token })).data.errorcode).toBe(0);
    expect(((await nitro(base, 'GET', 'nsconfig', undefined, { token })).data.nsconfig as Record<string, unknown>).configchanged).toBe(false);
    expect((await nitro(base, 'POST', 'nsconfig?action=reboot', { nsconfig: {} }, { token })).data.errorcode).toBe(278);
  });

  it('prints the running configuration as text', async () => {
    const base = url('single');
    const token = await login(base);
    const r = await nitro(base, 'GET', 'nsrunningconfig', undefined, { token });
    const text = String((r.data.nsrunningconfig as { response: string }).response);
    expect(text).toContain('add ssl certKey old -cert old.crt -key old.key');
    expect(text).toContain('bind vpn global -userDataEncryptionKey');
    expect(text).toContain('set aaa otpparameter -encryption ON');
  });
});
