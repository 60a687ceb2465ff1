// The shared fixture itself: what other test files rely on.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { Keyring, readSecrets } from '../../src/otp/index.js';
import { isRunning } from '../../src/lab/processes.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';

describe('startTestDirectory', () => {
  let lab: TestDirectory;
  beforeAll(async () => {
    lab = await startTestDirectory({ users: 60 });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('serves the seeded users to the service account, with the expected values', async () => {
    const client = new Client({ url: lab.slapd.url });
    try {
      await client.bind(lab.slapd.serviceDN, lab.slapd.servicePassword);
      const { searchEntries } = await client.search(lab.slapd.usersDN, {
        filter: '(objectClass=user)',
        attributes: ['sAMAccountName', 'userParameters'],
        paged: { pageSize: 200 },
      });
      expect(searchEntries).toHaveLength(61);
      const byDn = new Map(searchEntries.map((e) => [e.dn.toLowerCase(), e]));
      const keyring = new Keyring([lab.oldKey]);
      for (const u of lab.seed.users) {
        const e = byDn.get(u.dn.toLowerCase());
        expect(e, u.dn).toBeDefined();
        const stored = e!.userParameters;
        if (u.value === undefined) {
          expect(stored).toEqual([]);
          continue;
        }
        expect(stored).toBe(u.value);
        if (u.devices.length > 0) expect(readSecrets(u.value, keyring).devices.map((d) => d.secret)).toEqual(u.devices.map((d) => d.secret));
      }
      const canary = byDn.get(lab.seed.canary.dn.toLowerCase());
      expect(readSecrets(canary!.userParameters as string, keyring).devices[0].secret).toBe(lab.seed.canary.totpSecret);
    } finally {
      await client.unbind();
    }
  });

  it('writes both certificates to files and keeps slapd running until stop()', async () => {
    expect(existsSync(lab.oldKey.certFile) && existsSync(lab.newKey.keyFile)).toBe(true);
    expect(lab.oldKey.kidText).not.toBe(lab.newKey.kidText);
    expect(isRunning(lab.slapd.pid)).toBe(true);
  });
});
