// The simulator behaves as the vendor's reference and real clients show (docs/fidelity.md):
// sslcertkey update/link/unlink/set, password flag and passplain, 1647/1614, the Go SDK's
// Set-Cookie session header, names encoded twice, hanode settings, the secondary's refusal per
// profile, clusterfiles, nsversion, /stat, and the binding row shape of each firmware profile.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCa, issueCert, selfSignedCert } from '../../../src/lab/pki.js';
import { FIRMWARE_PROFILES, startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { addCertkey, labTls, login, nitro, upload } from './helpers.js';

let sim: RunningSimulator;
let base: string;
let token: string;

const app = (name: string, profile: string, ha?: { peer: string; role: 'primary' | 'secondary' }) => ({
  name,
  firmware: 'multi' as const,
  profile,
  username: 'nsroot',
  password: 'nsroot-pass',
  ...(ha ? { ha } : {}),
});

// Every key is made before the simulator starts: key generation blocks the event loop the
// simulator shares with the test, and a kept-alive socket idle through it may be reset.
const bits = { keyBits: 1024 };
let pki: Record<'a' | 'b' | 'c' | 'leaf' | 'mon' | 'flag' | 'spaced' | 'rows0' | 'rows1' | 'rows3', { certPem: string; keyPem: string }>;
let linkCa: { certPem: string; keyPem: string };

beforeAll(async () => {
  const tls = labTls();
  linkCa = generateCa('link CA', bits);
  pki = {
    a: issueCert(generateCa('upd CA', bits), { cn: 'vpn.example.test', sans: ['vpn.example.test'], ...bits }),
    b: issueCert(generateCa('upd CA 2', bits), { cn: 'vpn.example.test', sans: ['vpn.example.test'], ...bits }),
    c: selfSignedCert({ cn: 'other.example.test', ...bits }),
    leaf: issueCert(linkCa, { cn: 'leaf.example.test', sans: ['leaf.example.test'], ...bits }),
    mon: selfSignedCert({ cn: 'mon', ...bits }),
    flag: selfSignedCert({ cn: 'flag', ...bits }),
    spaced: selfSignedCert({ cn: 'spaced', ...bits }),
    rows0: selfSignedCert({ cn: 'rows 0', ...bits }),
    rows1: selfSignedCert({ cn: 'rows 1', ...bits }),
    rows3: selfSignedCert({ cn: 'rows 3', ...bits }),
  };
  sim = await startSimulator({
    appliances: [app('adc1', 'multi'), app('p1', 'rows-certkeyname', { peer: 'p2', role: 'primary' }), app('p2', 'rows-certkeyname', { peer: 'p1', role: 'secondary' }), app('noecho', 'rows-no-echo')],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
  });
  base = sim.appliances[0].nitroUrl;
  token = await login(base);
});
afterAll(async () => {
  await sim.stop();
});

/** A raw GET with the path exactly as given (no client-side encoding) and extra headers. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sslcertkey as renewal tools use it', () => {
  it('update replaces the files in place; another domain needs nodomaincheck; a missing file is 1647', async () => {
    for (const n of ['a', 'b', 'c'] as const) {
      const p = pki[n];
      await upload(base, token, `${n}.crt`, p.certPem);
      await upload(base, token, `${n}.key`, p.keyPem);
    }
    expect((await addCertkey(base, token, { certkey: 'vpn', cert: 'a.crt', key: 'a.key' })).data.errorcode).toBe(0);
    const upd = (fields: Record<string, unknown>) => nitro(base, 'POST', 'sslcertkey?action=update', { sslcertkey: { certkey: 'vpn', ...fields } }, { token });
    expect((await upd({ cert: 'b.crt', key: 'b.key' })).data.errorcode).toBe(0);
    const got = await nitro(base, 'GET', 'sslcertkey/vpn', undefined, { token });
    expect((got.data.sslcertkey as Record<string, unknown>[])[0]).toMatchObject({ cert: 'b.crt', key: 'b.key', issuer: expect.stringContaining('upd CA 2') });
    expect((await upd({ cert: 'c.crt', key: 'c.key' })).data.errorcode).toBe(278);
    expect((await upd({ cert: 'c.crt', key: 'c.key', nodomaincheck: true })).data.errorcode).toBe(0);
    expect((await upd({ cert: 'gone.crt', key: 'c.key', nodomaincheck: true })).data.errorcode).toBe(1647);
    expect((await nitro(base, 'POST', 'sslcertkey?action=update', { sslcertkey: { certkey: 'nope', cert: 'c.crt' } }, { token })).data.errorcode).toBe(1540);
  });

  it('link and unlink name the issuing CA certkey; a CA that did not issue it is refused; a linked CA cannot be deleted', async () => {
    const leaf = pki.leaf;
    await upload(base, token, 'link-ca.crt', linkCa.certPem);
    await upload(base, token, 'leaf.crt', leaf.certPem);
    await upload(base, token, 'leaf.key', leaf.keyPem);
    expect((await addCertkey(base, token, { certkey: 'link-ca', cert: 'link-ca.crt' })).data.errorcode).toBe(0);
    expect((await addCertkey(base, token, { certkey: 'leaf', cert: 'leaf.crt', key: 'leaf.key' })).data.errorcode).toBe(0);
    const link = (certkey: string, linkcertkeyname: string) => nitro(base, 'POST', 'sslcertkey?action=link', { sslcertkey: { certkey, linkcertkeyname } }, { token });
    expect((await link('link-ca', 'leaf')).data.errorcode).toBe(278);
    expect((await link('leaf', 'absent')).data.errorcode).toBe(1540);
    expect((await link('leaf', 'link-ca')).data.errorcode).toBe(0);
    const got = await nitro(base, 'GET', 'sslcertkey/leaf', undefined, { token });
    expect((got.data.sslcertkey as Record<string, unknown>[])[0].linkcertkeyname).toBe('link-ca');
    expect((await nitro(base, 'DELETE', 'sslcertkey/link-ca', undefined, { token })).data.errorcode).toBe(1541);
    expect((await nitro(base, 'POST', 'sslcertkey?action=unlink', { sslcertkey: { certkey: 'leaf' } }, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'POST', 'sslcertkey?action=unlink', { sslcertkey: { certkey: 'leaf' } }, { token })).data.errorcode).toBe(278);
    expect((await nitro(base, 'DELETE', 'sslcertkey/link-ca', undefined, { token })).data.errorcode).toBe(0);
  });

  it('PUT sets notificationperiod (10–100) and expirymonitor', async () => {
    const p = pki.mon;
    await upload(base, token, 'mon.crt', p.certPem);
    await upload(base, token, 'mon.key', p.keyPem);
    await addCertkey(base, token, { certkey: 'mon', cert: 'mon.crt', key: 'mon.key' });
    const set = (fields: Record<string, unknown>) => nitro(base, 'PUT', 'sslcertkey', { sslcertkey: { certkey: 'mon', ...fields } }, { token });
    expect((await set({ notificationperiod: 9 })).data.errorcode).toBe(278);
    expect((await set({ notificationperiod: 101 })).data.errorcode).toBe(278);
    expect((await set({ expirymonitor: 'ENABLED', notificationperiod: 30 })).data.errorcode).toBe(0);
    const got = await nitro(base, 'GET', 'sslcertkey/mon', undefined, { token });
    expect((got.data.sslcertkey as Record<string, unknown>[])[0]).toMatchObject({ expirymonitor: 'ENABLED', notificationperiod: 30 });
    expect((await nitro(base, 'PUT', 'sslcertkey', { sslcertkey: { certkey: 'absent', notificationperiod: 30 } }, { token })).data.errorcode).toBe(1540);
  });

  it('password is a flag and passplain the passphrase: a passphrase in password is refused', async () => {
    const p = pki.flag;
    await upload(base, token, 'flag.crt', p.certPem);
    await upload(base, token, 'flag.key', p.keyPem);
    expect((await addCertkey(base, token, { certkey: 'flag', cert: 'flag.crt', key: 'flag.key', password: 'secret-pw' })).data.errorcode).toBe(278);
    expect((await addCertkey(base, token, { certkey: 'flag', cert: 'flag.crt', key: 'flag.key', password: false })).data.errorcode).toBe(0);
  });
});

describe('sessions and names as real clients send them', () => {
  it('accepts the token in a request header named Set-Cookie (the Go SDK) as well as in Cookie', async () => {
    const url = `${base}/nitro/v1/config/nsconfig`;
    expect((await rawGet(url, { 'Set-Cookie': `NITRO_AUTH_TOKEN=${token}` })).body.errorcode).toBe(0);
    expect((await rawGet(url, { Cookie: `NITRO_AUTH_TOKEN=${token}` })).body.errorcode).toBe(0);
    expect((await rawGet(url, {})).body.errorcode).toBe(352);
  });

  it('decodes a name twice: the Ansible form (%2520) and the Go SDK form (%2B for a space) both find "otp key 2026"', async () => {
    const p = pki.spaced;
    await upload(base, token, 'spaced.crt', p.certPem);
    await upload(base, token, 'spaced.key', p.keyPem);
    expect((await addCertkey(base, token, { certkey: 'otp key 2026', cert: 'spaced.crt', key: 'spaced.key' })).data.errorcode).toBe(0);
    for (const encoded of ['otp%2520key%25202026', 'otp%2Bkey%2B2026']) {
      const r = await rawGet(`${base}/nitro/v1/config/sslcertkey/${encoded}`, { Cookie: `NITRO_AUTH_TOKEN=${token}` });
      expect(r.body.errorcode, encoded).toBe(0);
      expect((r.body.sslcertkey as Record<string, unknown>[])[0].certkey).toBe('otp key 2026');
    }
    // "%41" encoded twice stays "%41", not "A".
    const pct = await rawGet(`${base}/nitro/v1/config/sslcertkey/a%252541`, { Cookie: `NITRO_AUTH_TOKEN=${token}` });
    expect(pct.body.errorcode).toBe(258);
    expect(String(pct.body.message)).toContain('a%41');
  });
});

describe('HA, cluster, version and statistics', () => {
  it('hanode: hastatus and hasync are settings, set per node (also on the secondary)', async () => {
    const [p1, p2] = [sim.appliances[1].nitroUrl, sim.appliances[2].nitroUrl];
    const [t1, t2] = [await login(p1), await login(p2)];
    const rows = (await nitro(p1, 'GET', 'hanode', undefined, { token: t1 })).data.hanode as Record<string, unknown>[];
    expect(rows.map((r) => [r.id, r.state, r.hastatus, r.hasync])).toEqual([
      [0, 'Primary', 'ENABLED', 'ENABLED'],
      [1, 'Secondary', 'ENABLED', 'ENABLED'],
    ]);
    expect((await nitro(p2, 'PUT', 'hanode', { hanode: { id: 0, hastatus: 'STAYSECONDARY', hasync: 'DISABLED' } }, { token: t2 })).data.errorcode).toBe(0);
    expect((await nitro(p2, 'PUT', 'hanode', { hanode: { id: 0, hastatus: 'UP' } }, { token: t2 })).data.errorcode).toBe(278);
    const after = (await nitro(p1, 'GET', 'hanode', undefined, { token: t1 })).data.hanode as Record<string, unknown>[];
    expect(after[1]).toMatchObject({ hastatus: 'STAYSECONDARY', hasync: 'DISABLED', state: 'Secondary' });
    // This profile's secondary refuses a configuration write with 368 (the multi profile: 1028).
    expect(FIRMWARE_PROFILES['rows-certkeyname'].secondaryWriteCode).toBe(368);
    expect((await nitro(p2, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token: t2 })).data.errorcode).toBe(368);
    expect((await nitro(p2, 'PUT', 'hanode', { hanode: { id: 0, hastatus: 'ENABLED', hasync: 'ENABLED' } }, { token: t2 })).data.errorcode).toBe(0);
  });

  it('clusterfiles?action=sync takes {"clusterfiles":{"mode":[...]}}', async () => {
    expect((await nitro(base, 'POST', 'clusterfiles?action=sync', { clusterfiles: { mode: ['ssl'] } }, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'POST', 'clusterfiles?action=sync', { clusterfiles: { mode: ['nonsense'] } }, { token })).data.errorcode).toBe(278);
    expect((await nitro(base, 'POST', 'clusterfiles', { clusterfiles: { mode: ['ssl'] } }, { token })).data.errorcode).toBe(278);
  });

  it("nsversion reports the profile's firmware; /stat answers NITRO JSON for ns and hanode, and JSON 258 otherwise", async () => {
    const v = await nitro(base, 'GET', 'nsversion', undefined, { token });
    expect((v.data.nsversion as Record<string, unknown>).version).toBe(FIRMWARE_PROFILES.multi.version);
    const stat = (type: string) => rawGet(`${base}/nitro/v1/stat/${type}`, { Cookie: `NITRO_AUTH_TOKEN=${token}` });
    const ns = await stat('ns');
    expect(ns.body.errorcode).toBe(0);
    expect(typeof (ns.body.ns as Record<string, unknown>).cpuusagepcnt).toBe('number');
    expect(((await stat('hanode')).body.hanode as Record<string, unknown>).hacurmasterstate).toBe('Primary');
    const none = await stat('lbvserverx');
    expect([none.status, none.body.errorcode]).toEqual([404, 258]);
    expect((await rawGet(`${base}/nitro/v1/stat/ns`, {})).body.errorcode).toBe(352);
  });
});

describe('binding rows per firmware profile', () => {
  async function rowsOf(index: number): Promise<unknown> {
    const url = sim.appliances[index].nitroUrl;
    const t = await login(url);
    const p = pki[`rows${index}` as 'rows0' | 'rows1' | 'rows3'];
    await upload(url, t, 'rows.crt', p.certPem);
    await upload(url, t, 'rows.key', p.keyPem);
    await addCertkey(url, t, { certkey: 'rows', cert: 'rows.crt', key: 'rows.key' });
    expect((await nitro(url, 'PUT', 'vpnglobal_sslcertkey_binding', { vpnglobal_sslcertkey_binding: { userdataencryptionkey: 'rows' } }, { token: t })).data.errorcode).toBe(0);
    return (await nitro(url, 'GET', 'vpnglobal_sslcertkey_binding', undefined, { token: t })).data.vpnglobal_sslcertkey_binding;
  }

  it('multi: userdataencryptionkey; rows-certkeyname: certkeyname too; rows-no-echo: certkeyname only', async () => {
    expect(await rowsOf(0)).toEqual([{ userdataencryptionkey: 'rows' }]);
    expect(await rowsOf(1)).toEqual([{ certkeyname: 'rows', userdataencryptionkey: 'rows' }]);
    expect(await rowsOf(3)).toEqual([{ certkeyname: 'rows' }]);
  });
});
