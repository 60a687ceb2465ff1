import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failover, injectFault, labState, type RunningSimulator } from '../../src/lab/sim/index.js';
import type { NitroClient } from '../../src/nitro/client.js';
import { getNsConfig, saveConfig, syncSslFiles, verifyFilesOnSecondary } from '../../src/nitro/config.js';
import { NitroError } from '../../src/nitro/errors.js';
import { choosePrimary } from '../../src/nitro/ha.js';
import { getOtpParameters } from '../../src/nitro/otp-parameters.js';
import { uploadSystemFile } from '../../src/nitro/systemfile.js';
import { appliance, httpClient, startSim } from './helpers.js';

let sim: RunningSimulator;
let a: { url: string; control: string };
let b: { url: string; control: string };
const clients: NitroClient[] = [];

function client(urls: string[]): NitroClient {
  const c = httpClient(urls, { appliance: 'pair1' });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  sim = await startSim([appliance('adc-a', { ha: { peer: 'adc-b', role: 'primary' } }), appliance('adc-b', { ha: { peer: 'adc-a', role: 'secondary' } })], { haFileSyncDelayMs: 3_600_000 });
  a = { url: sim.appliances[0].nitroUrl, control: sim.appliances[0].controlUrl! };
  b = { url: sim.appliances[1].nitroUrl, control: sim.appliances[1].controlUrl! };
});

afterAll(async () => {
  for (const c of clients) {
    await c.logout();
    c.close();
  }
  await sim?.stop();
});

async function primaryName(): Promise<string> {
  return (await labState(a.control)).role === 'primary' ? 'adc-a' : 'adc-b';
}

describe('HA target', () => {
  it('finds the primary whatever the order of the URLs, and reports the pair', async () => {
    const primaryUrl = (await primaryName()) === 'adc-a' ? a.url : b.url;
    const c = client([b.url, a.url]);
    const t = await c.resolveTarget();
    expect(t.mode).toBe('ha');
    expect(t.primaryUrl).toBe(primaryUrl);
    expect(t.secondaryUrl).toBe(primaryUrl === a.url ? b.url : a.url);
    expect(t.peerState).toBe('Secondary');
    expect(t.peerSync).toBe('ENABLED');
    expect(t.notes).toEqual([]);
    expect(c.currentNode).toBe(primaryUrl);
  });

  it('refuses when only the secondary is given, naming where the primary is', async () => {
    const secondaryUrl = (await primaryName()) === 'adc-a' ? b.url : a.url;
    await expect(client([secondaryUrl]).resolveTarget()).rejects.toThrow(/no HA primary.*Secondary.*primary reported at 192\.0\.2\./);
  });

  it('notes when only the primary is given', async () => {
    const primaryUrl = (await primaryName()) === 'adc-a' ? a.url : b.url;
    const t = await client([primaryUrl]).resolveTarget();
    expect(t.notes.join('\n')).toMatch(/only the primary/);
  });

  it('follows a failover between two calls: 1028 on the write → find the new primary → repeat once', async () => {
    const c = client([a.url, b.url]);
    const before = await c.resolveTarget();
    await getOtpParameters(c);
    const newPrimary = await failover(a.control);
    await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 7 } } });
    expect(c.currentNode).not.toBe(before.primaryUrl);
    expect(c.currentNode).toBe(newPrimary === 'adc-a' ? a.url : b.url);
    expect((await getOtpParameters(c)).maxotpdevices).toBe(7);
  });

  it('recheckPrimary before a write phase reports the failover', async () => {
    const c = client([a.url, b.url]);
    const first = await c.resolveTarget();
    await failover(a.control);
    const again = await c.recheckPrimary();
    expect(again.failedOver).toBe(true);
    expect(again.primaryUrl).not.toBe(first.primaryUrl);
    expect((await c.recheckPrimary()).failedOver).toBe(false);
  });

  it('368 "not a primary" on a write is followed the same way', async () => {
    const c = client([a.url, b.url]);
    const t = await c.resolveTarget();
    const ctl = t.primaryUrl === a.url ? a.control : b.control;
    await injectFault(ctl, { on: 'POST nsconfig?action=save', errorcode: 368 });
    await saveConfig(c);
    expect((await getNsConfig(c)).configchanged).toBe(false);
  });

  it('a write pinned to the secondary is refused with 1028 and not redirected', async () => {
    const c = client([a.url, b.url]);
    const t = await c.resolveTarget();
    const err = await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 4 } } }, { node: t.secondaryUrl! }).catch((e: unknown) => e);
    expect((err as NitroError).errorcode).toBe(1028);
    expect((err as Error).message).toMatch(/not the HA primary/);
  });

  it('HA file sync copies new files to the secondary, and the check sees them there', async () => {
    const c = client([a.url, b.url]);
    await c.resolveTarget();
    const name = `sync-${Date.now()}.pem`;
    await uploadSystemFile(c, name, Buffer.from('cert'));
    const early = await verifyFilesOnSecondary(c, [name], { timeoutMs: 0 });
    expect(early.missing).toEqual([name]);
    await syncSslFiles(c);
    const late = await verifyFilesOnSecondary(c, [name], { timeoutMs: 2000, intervalMs: 50 });
    expect(late).toMatchObject({ present: [name], missing: [] });
  });
});

describe('choosePrimary rules', () => {
  const obs = (url: string, state: string) => ({
    url,
    reachable: true,
    peers: [],
    self: { id: 0, ipaddress: url, state, hastatus: 'UP', hasync: 'ENABLED' },
    nsconfig: { systemtype: 'HA', ipaddress: url, primaryip: undefined, configchanged: false, lastconfigsavetime: undefined, lastconfigchangedtime: undefined },
  });
  it('refuses a split brain', () => {
    expect(() => choosePrimary('p', [obs('x', 'Primary'), obs('y', 'Primary')])).toThrow(/split brain/);
  });
  it('refuses when nothing answered', () => {
    expect(() => choosePrimary('p', [{ url: 'x', reachable: false, error: 'ECONNREFUSED', peers: [] }])).toThrow(/no node answered/);
  });
});

describe('a pair whose secondary refuses writes with 368 (firmware profile rows-certkeyname)', () => {
  it('a write pinned to the secondary gets 368; after a failover the client follows it the same way as 1028', async () => {
    const pair = await startSim(
      [appliance('p-a', { profile: 'rows-certkeyname', ha: { peer: 'p-b', role: 'primary' } }), appliance('p-b', { profile: 'rows-certkeyname', ha: { peer: 'p-a', role: 'secondary' } })],
      { haFileSyncDelayMs: 3_600_000 },
    );
    try {
      const [pa, pb] = [pair.appliances[0], pair.appliances[1]];
      const c = client([pa.nitroUrl, pb.nitroUrl]);
      await c.resolveTarget();
      const refused = await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 5 } } }, { node: pb.nitroUrl }).catch((e: unknown) => e);
      expect((refused as NitroError).errorcode).toBe(368);
      await failover(pa.controlUrl!);
      await c.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { maxotpdevices: 6 } } });
      expect(c.currentNode).toBe(pb.nitroUrl);
      expect((await getOtpParameters(c)).maxotpdevices).toBe(6);
    } finally {
      await pair.stop();
    }
  });
});
