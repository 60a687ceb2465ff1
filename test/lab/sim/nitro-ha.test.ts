import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCert } from '../../../src/lab/pki.js';
import { failover, labState, startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { SSL_ARGS, addCertkey, labTls, login, nitro, upload } from './helpers.js';

let sim: RunningSimulator;
let autoSim: RunningSimulator;
/** The file sync's interval on the second pair. */
const SYNC_MS = 1000;

function ha(syncMs?: number) {
  const tls = labTls();
  return startSimulator({
    appliances: [
      { name: 'adc-a', firmware: 'multi', ha: { peer: 'adc-b', role: 'primary' }, username: 'nsroot', password: 'nsroot-pass' },
      { name: 'adc-b', firmware: 'multi', ha: { peer: 'adc-a', role: 'secondary' }, username: 'nsroot', password: 'nsroot-pass' },
    ],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
    control: true,
    ...(syncMs ? { haFileSyncDelayMs: syncMs } : {}),
  });
}

beforeAll(async () => {
  sim = await ha();
  autoSim = await ha(SYNC_MS);
});
afterAll(async () => {
  await sim.stop();
  await autoSim.stop();
});

const fileNames = async (base: string, token: string): Promise<string[]> =>
  (((await nitro(base, 'GET', `systemfile?${SSL_ARGS}`, undefined, { token })).data.systemfile as { filename: string }[] | undefined) ?? []).map((f) => f.filename);

describe('HA pair', () => {
  it('reports each node (id 0) and its peer (id 1), with its own NSIP', async () => {
    const [a, b] = sim.appliances;
    const ta = await login(a.nitroUrl);
    const tb = await login(b.nitroUrl);
    const ha = (await nitro(a.nitroUrl, 'GET', 'hanode', undefined, { token: ta })).data.hanode as Record<string, unknown>[];
    const hb = (await nitro(b.nitroUrl, 'GET', 'hanode', undefined, { token: tb })).data.hanode as Record<string, unknown>[];
    expect(ha.map((n) => [n.id, n.state])).toEqual([
      [0, 'Primary'],
      [1, 'Secondary'],
    ]);
    expect(hb.map((n) => [n.id, n.state])).toEqual([
      [0, 'Secondary'],
      [1, 'Primary'],
    ]);
    expect(ha[0].ipaddress).toBe(hb[1].ipaddress);
    const nsb = (await nitro(b.nitroUrl, 'GET', 'nsconfig', undefined, { token: tb })).data.nsconfig as Record<string, unknown>;
    expect(nsb).toMatchObject({ systemtype: 'HA', primaryip: ha[0].ipaddress, ipaddress: hb[0].ipaddress });
    expect((await nitro(a.nitroUrl, 'GET', 'hanode/1', undefined, { token: ta })).data.hanode).toEqual([expect.objectContaining({ id: 1 })]);
  });

  it('the secondary refuses writes with 1028 but answers reads', async () => {
    const b = sim.appliances[1];
    const tb = await login(b.nitroUrl);
    const w = await nitro(b.nitroUrl, 'PUT', 'aaaotpparameter', { aaaotpparameter: { encryption: 'ON' } }, { token: tb });
    expect(w.data.errorcode).toBe(1028);
    expect(w.status).toBe(599);
    expect((await upload(b.nitroUrl, tb, 'x.pem', 'x')).data.errorcode).toBe(1028);
    expect((await nitro(b.nitroUrl, 'POST', 'nsconfig?action=save', { nsconfig: {} }, { token: tb })).data.errorcode).toBe(1028);
    expect((await nitro(b.nitroUrl, 'GET', 'aaaotpparameter', undefined, { token: tb })).data.errorcode).toBe(0);
  });

  it('propagates configuration at once, but /nsconfig/ssl files only after hafiles sync', async () => {
    const [a, b] = sim.appliances;
    const ta = await login(a.nitroUrl);
    const tb = await login(b.nitroUrl);
    const pair = selfSignedCert({ cn: 'ha-cert' });
    await upload(a.nitroUrl, ta, 'ha.crt', pair.certPem);
    await upload(a.nitroUrl, ta, 'ha.key', pair.keyPem);
    expect((await addCertkey(a.nitroUrl, ta, { certkey: 'ha', cert: 'ha.crt', key: 'ha.key' })).data.errorcode).toBe(0);
    expect((await nitro(b.nitroUrl, 'GET', 'sslcertkey/ha', undefined, { token: tb })).data.errorcode).toBe(0);
    expect(await fileNames(b.nitroUrl, tb)).not.toContain('ha.crt');
    const sync = await nitro(a.nitroUrl, 'POST', 'hafiles?action=sync', { hafiles: { mode: ['ssl'] } }, { token: ta });
    expect(sync.data.errorcode).toBe(0);
    expect(await fileNames(b.nitroUrl, tb)).toEqual(expect.arrayContaining(['ha.crt', 'ha.key']));
  });

  it('copies files to the secondary by itself, once per haFileSyncDelayMs', async () => {
    // The copy runs on a timer, as on an appliance (about once a minute): the file appears at the
    // next tick, at most one interval after the upload (the other pair, whose interval is an
    // hour, shows that nothing copies before a tick).
    const [a, b] = autoSim.appliances;
    const ta = await login(a.nitroUrl);
    const tb = await login(b.nitroUrl);
    const t0 = Date.now();
    await upload(a.nitroUrl, ta, 'later.pem', 'x');
    while (!(await fileNames(b.nitroUrl, tb)).includes('later.pem')) {
      expect(Date.now() - t0, 'copied within an interval and a margin for a loaded machine').toBeLessThan(SYNC_MS + 5_000);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('fails over through the control endpoint: roles swap and writes follow the primary', async () => {
    const [a, b] = sim.appliances;
    expect(await failover(b.controlUrl!)).toBe('adc-b');
    const ta = await login(a.nitroUrl);
    const tb = await login(b.nitroUrl);
    expect(((await nitro(a.nitroUrl, 'GET', 'hanode', undefined, { token: ta })).data.hanode as { state: string }[])[0].state).toBe('Secondary');
    expect((await nitro(a.nitroUrl, 'PUT', 'aaaotpparameter', { aaaotpparameter: { encryption: 'ON' } }, { token: ta })).data.errorcode).toBe(1028);
    expect((await nitro(b.nitroUrl, 'PUT', 'aaaotpparameter', { aaaotpparameter: { encryption: 'ON' } }, { token: tb })).data.errorcode).toBe(0);
    expect((await labState(a.controlUrl!)).otp.encryption).toBe('ON');
    expect(await failover(a.controlUrl!)).toBe('adc-a');
    expect((await labState(a.controlUrl!)).role).toBe('primary');
  });

  it('refuses failover of a stand-alone appliance', async () => {
    const tls = labTls();
    const solo = await startSimulator({
      appliances: [{ name: 'solo', firmware: 'multi', username: 'u', password: 'p' }],
      tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
      control: true,
    });
    try {
      await expect(failover(solo.appliances[0].controlUrl!)).rejects.toThrow(/409/);
    } finally {
      await solo.stop();
    }
  });
});
