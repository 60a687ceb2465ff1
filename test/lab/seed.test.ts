// Seeding: the mix an estate really has, every value as recorded, and fast enough for 10,000.
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, kidsOf, readSecrets, totpCode, totpVerify } from '../../src/otp/index.js';
import { BROKEN_KINDS, seedKindOf, type SeedResult } from '../../src/lab/seed.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';

const USERS = 10_000;

describe('seedUsers', () => {
  let lab: TestDirectory;
  let seed: SeedResult;
  beforeAll(async () => {
    lab = await startTestDirectory({ users: USERS });
    seed = lab.seed;
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it(`seeds ${USERS} users in well under a minute`, () => {
    console.log(`seeded ${USERS} users in ${seed.seconds.toFixed(2)} s`);
    expect(seed.users).toHaveLength(USERS);
    expect(seed.seconds).toBeLessThan(60);
  });

  it('gives the documented mix, deterministically by index', () => {
    const share = (k: keyof SeedResult['counts']) => seed.counts[k] / USERS;
    expect(share('single')).toBeGreaterThan(0.45);
    expect(share('single')).toBeLessThan(0.6);
    expect(share('multi')).toBeCloseTo(0.15, 2);
    expect(share('legacy')).toBeCloseTo(0.1, 2);
    expect(share('none')).toBeCloseTo(0.2, 2);
    for (const k of BROKEN_KINDS) {
      expect(seed.counts[k]).toBeGreaterThan(0);
      expect(share(k)).toBeLessThan(0.01);
    }
    for (const u of seed.users) expect(u.kind).toBe(seedKindOf(u.index));
    // Small labs still hold one of each broken kind.
    expect(new Set(Array.from({ length: 200 }, (_, i) => seedKindOf(i)))).toEqual(new Set(['single', 'multi', 'legacy', 'none', ...BROKEN_KINDS]));
  });

  it('stores exactly the recorded values, and the old key reads every good one', async () => {
    const client = new Client({ url: lab.slapd.url, timeout: 30_000 });
    const keyring = new Keyring([lab.oldKey]);
    try {
      await client.bind(lab.slapd.serviceDN, lab.slapd.servicePassword);
      const { searchEntries } = await client.search(lab.slapd.usersDN, {
        filter: '(objectClass=user)',
        attributes: ['userParameters', 'memberOf'],
        paged: { pageSize: 1000 },
      });
      expect(searchEntries).toHaveLength(USERS + 1);
      const byDn = new Map(searchEntries.map((e) => [e.dn.toLowerCase(), e]));
      for (const u of seed.users) {
        const e = byDn.get(u.dn.toLowerCase())!;
        expect(e.userParameters).toEqual(u.value ?? []);
        expect(e.memberOf).toEqual(u.inOtpGroup ? lab.slapd.otpGroupDN : []);
        if (u.value === undefined) continue;
        if (BROKEN_KINDS.includes(u.kind)) {
          expect(() => readSecrets(u.value!, keyring), `${u.kind} ${u.dn}`).toThrow();
          continue;
        }
        const read = readSecrets(u.value, keyring);
        expect(read.format).toBe(u.kind === 'legacy' ? 'legacy' : 'encrypted');
        expect(read.devices.map((d) => [d.name, d.secret])).toEqual(u.devices.map((d) => [d.name, d.secret]));
        if (u.kind === 'multi') expect(u.devices.length).toBeGreaterThan(1);
      }
      const unknown = seed.users.find((u) => u.kind === 'unknown-kid')!;
      expect(kidsOf(unknown.value!)).not.toContain(lab.oldKey.kidText);
    } finally {
      await client.unbind();
    }
  });

  it('gives the canary a password that binds and a TOTP secret under the old key', async () => {
    const client = new Client({ url: lab.slapd.url });
    try {
      await client.bind(seed.canary.dn, seed.canary.password);
    } finally {
      await client.unbind();
    }
    const [device] = readSecrets(seed.canary.value, new Keyring([lab.oldKey])).devices;
    expect(device.secret).toBe(seed.canary.totpSecret);
    expect(totpVerify(device.secret, totpCode(seed.canary.totpSecret))).toBe(true);
  });

  it('gives users passwords that bind (a sample across the mix)', async () => {
    for (const u of seed.users.filter((_, i) => i % 997 === 0)) {
      const client = new Client({ url: lab.slapd.url });
      try {
        await client.bind(u.dn, u.password);
      } finally {
        await client.unbind();
      }
    }
  });
});
