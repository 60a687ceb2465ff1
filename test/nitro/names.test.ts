// Resource names with spaces and "%" in the URL path: the client encodes them twice as the
// vendor's clients do, the simulator decodes twice as the appliance does, and a certkey with a
// space goes through add, read, bind, unbind and delete. The counting proxy shows what was sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulator } from '../../src/lab/sim/index.js';
import { encodeName, type NitroClient } from '../../src/nitro/client.js';
import { bindUserDataEncryptionKey, listUserDataEncryptionKeys, unbindUserDataEncryptionKey } from '../../src/nitro/otp-binding.js';
import { certFactsFromCert, deleteCertkey, ensureCertkey, getCertkey } from '../../src/nitro/sslcertkey.js';
import { listSystemFiles } from '../../src/nitro/systemfile.js';
import { appliance, httpClient, otpCert, startCountingProxy, startSim, type CountingProxy } from './helpers.js';

const SPACED = otpCert('spaced');
let sim: RunningSimulator;
let proxy: CountingProxy;
let c: NitroClient;

beforeAll(async () => {
  sim = await startSim([
    appliance('adc1', {
      preload: {
        files: [
          { name: 'spaced.pem', content: SPACED.certPem },
          { name: 'spaced.key', content: SPACED.keyPem },
          { name: '50% off a.pem', content: 'x' },
        ],
      },
    }),
  ]);
  proxy = await startCountingProxy(sim.appliances[0].nitroUrl);
  c = httpClient([proxy.url]);
});

afterAll(async () => {
  await c?.logout();
  c?.close();
  await proxy?.stop();
  await sim?.stop();
});

describe('names in the URL path', () => {
  it('are percent-encoded twice', () => {
    expect(encodeName('otp key 2026')).toBe('otp%2520key%25202026');
    expect(encodeName('50%')).toBe('50%2525');
    expect(encodeName('plain-name_1.pem')).toBe('plain-name_1.pem');
  });

  it('a certkey with spaces: add, read by name, bind, unbind, delete', async () => {
    const name = 'otp key 2026';
    const made = await ensureCertkey(c, { certkey: name, cert: 'spaced.pem', key: 'spaced.key', inform: 'PEM', local: certFactsFromCert(SPACED.certPem) });
    expect(made).toMatchObject({ certkey: name, created: true });
    expect((await getCertkey(c, name))?.certkey).toBe(name);
    expect(proxy.seen.some((s) => s.url === '/nitro/v1/config/sslcertkey/otp%2520key%25202026')).toBe(true);
    await bindUserDataEncryptionKey(c, name);
    expect(await listUserDataEncryptionKeys(c)).toEqual([name]);
    await unbindUserDataEncryptionKey(c, name);
    expect(await deleteCertkey(c, name, { createdByThisRun: true })).toBe(true);
    expect(await getCertkey(c, name)).toBeUndefined();
  });

  it('a name with "%" reaches the appliance as itself, not decoded once too often', async () => {
    // "a%41" would become "aA" if encoded once and decoded twice: the 258 names it exactly.
    const err = await c.request({ method: 'GET', resource: 'sslcertkey', name: 'a%41' }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('a%41');
    const file = '50% off a.pem';
    expect((await listSystemFiles(c)).map((f) => f.filename)).toContain(file);
    await c.request({ method: 'DELETE', resource: 'systemfile', name: file, query: { args: { filelocation: '/nsconfig/ssl' } } });
    expect(proxy.seen.at(-1)!.url).toBe('/nitro/v1/config/systemfile/50%2525%2520off%2520a.pem?args=filelocation:%2Fnsconfig%2Fssl');
    expect((await listSystemFiles(c)).map((f) => f.filename)).not.toContain(file);
  });
});
