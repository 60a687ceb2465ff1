// The cutover against every firmware profile of the simulator (src/lab/sim/profiles.ts), one small
// lab each, mode auto, no logon checks: where the profile's replies can be read, the cutover ends
// with only the new key bound and every device under it; where they cannot (a binding GET that
// does not echo userdataencryptionkey), preflight refuses with exit 2 and nothing changes. The
// plan shows each appliance's firmware version from nsversion.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIRMWARE_PROFILES, PROFILE_NAMES, type FaultSpec } from '../../src/lab/sim/index.js';
import { kidsOf, loadKeyMaterial } from '../../src/otp/index.js';
import { parseFirmwareVersion, shortVersion } from '../../src/nitro/version.js';
import { startE2eLab, type E2eLab } from '../helpers/e2e.js';
import { compareValues, cutoverWithoutLogonChecks, jsonEvents, labKeyring } from '../reliability/check.js';

let lab: E2eLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

describe('the cutover on every firmware profile', () => {
  it('covers every profile the simulator has', () => {
    expect(PROFILE_NAMES).toEqual(['multi', 'single', 'rows-certkeyname', 'rows-no-echo']);
  });

  it.each(PROFILE_NAMES)(
    '%s',
    async (profile) => {
      const ha = profile === 'rows-certkeyname';
      lab = await startE2eLab({ users: 6, appliances: ha ? 2 : 1, ha, firmware: profile });
      const playbook = cutoverWithoutLogonChecks(lab.root, [], true);
      const version = shortVersion(parseFirmwareVersion(FIRMWARE_PROFILES[profile].version));
      const before = await lab.snapshot();

      const plan = await lab.cli(['plan', playbook, '-i', lab.inventory, '--set', 'mode=auto'], { timeoutMs: 60_000 });
      const run = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json', '--set', 'mode=auto'], { timeoutMs: 90_000 });

      if (profile === 'rows-no-echo') {
        expect(plan.code, plan.stdout).toBe(2);
        expect(plan.stderr).toMatch(/adc1: vpn global lists otp-old as certkeyname .* not as userDataEncryptionKey .*nothing was changed/);
        expect(run.code, run.stdout).toBe(2);
        const after = await lab.snapshot();
        expect(after).toEqual(before);
        return;
      }
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`firmware: ${version} (nsversion)`);
      expect(run.code, run.stderr).toBe(0);
      // The report carries the version too (preflight's message per appliance).
      const preflight = jsonEvents(run.stdout).find((e) => e.type === 'target' && e['step'] === 'preflight' && e['target'] !== 'directory');
      expect(String(preflight?.['message'])).toContain(`firmware ${version}`);

      const after = await lab.snapshot();
      const neu = await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key });
      for (const [name, a] of Object.entries(after.appliances)) {
        expect(a.bindings, name).toHaveLength(1);
        expect(a.bindings[0], name).not.toBe('otp-old');
      }
      const v = compareValues(before.directory, after.directory, await labKeyring(lab));
      expect(v.bad).toEqual([]);
      for (const values of Object.values(after.directory)) {
        for (const value of values) if (value.startsWith('{')) expect(kidsOf(value).every((k) => k === neu.kidText)).toBe(true);
      }
    },
    180_000,
  );
});

// One HA pair serves every case here (the appliance is adc1-adc2: adc1 the primary, adc2 the
// secondary); each case injects its fault, runs plan and run, and clears the fault again.
describe('a reply shape no source documents', () => {
  let pair: E2eLab | undefined;
  beforeAll(async () => {
    pair = await startE2eLab({ users: 4, appliances: 2, ha: true });
  }, 120_000);
  afterAll(async () => {
    await pair?.stop();
  });
  afterEach(async () => {
    await pair?.clearFaults();
  });

  /** plan and run against `pair` with the faults given in place: both refuse with exit 2, and nothing changes. */
  async function refusedUnchanged(node: string, fault: FaultSpec, message: { plan: RegExp; run: RegExp }, marker?: string): Promise<void> {
    const l = pair!;
    const playbook = cutoverWithoutLogonChecks(l.root, [], true);
    const before = await l.snapshot();
    // Every GET of the kind, for as long as the case runs: a real appliance answers so each time.
    await l.fault(node, { ...fault, times: 50 });
    const plan = await l.cli(['plan', playbook, '-i', l.inventory, '--set', 'mode=auto'], { timeoutMs: 60_000 });
    expect(plan.code, plan.stdout).toBe(2);
    expect(plan.stderr).toMatch(message.plan);
    const run = await l.cli(['run', playbook, '-i', l.inventory, '--yes', '--json', '--set', 'mode=auto'], { timeoutMs: 60_000 });
    expect(run.code, run.stdout).toBe(2);
    expect(`${run.stdout}${run.stderr}`).toMatch(message.run);
    if (marker) for (const out of [plan.stdout, plan.stderr, run.stdout, run.stderr]) expect(out).not.toContain(marker);
    await l.clearFaults();
    expect(await l.snapshot()).toEqual(before);
  }

  it('a binding row with none of the known fields: plan and run refuse with exit 2, name the shape without its values, change nothing', async () => {
    const marker = 'zz-value-never-printed-zz';
    const binding =
      /adc1-adc2: GET vpnglobal_sslcertkey_binding failed: \(HTTP 200\): reply not understood: a row carries none of userdataencryptionkey, certkeyname, cacert; it carried .*encryptionkeyname: string, weight: number/;
    await refusedUnchanged(
      'adc1',
      { on: 'GET vpnglobal_sslcertkey_binding', reply: { vpnglobal_sslcertkey_binding: [{ userdataencryptionkey: 'otp-old' }, { encryptionkeyname: marker, weight: 1 }] } },
      { plan: binding, run: binding },
      marker,
    );
  }, 120_000);

  // The import step lists /nsconfig/ssl to pick free file names; preflight lists it first, so a
  // listing that cannot be read costs no upload and no rollback. run plans before it takes its
  // lock, so not even the lock file is written.
  it('a systemfile row without a file name on the primary: plan and run refuse with exit 2 before any change (no lock file either)', async () => {
    const primary = /preflight refused: adc1-adc2: adc1-adc2: GET systemfile failed: \(HTTP 200\): reply not understood: a row has no filename; it carried \[1 item\(s\): \{filesize: number\}\]/;
    await refusedUnchanged('adc1', { on: 'GET systemfile', reply: { systemfile: [{ filesize: 1 }] } }, { plan: primary, run: primary });
  }, 120_000);

  it('the same on the HA secondary: refused by preflight, naming the secondary, nothing changed', async () => {
    const secondary = /adc1-adc2: GET systemfile failed: \(HTTP 200\): reply not understood: a row has no filename; .*\(read on the HA secondary https:\/\/[^)]+\)/;
    await refusedUnchanged('adc2', { on: 'GET systemfile', reply: { systemfile: [{ filesize: 1 }] } }, { plan: secondary, run: secondary });
  }, 120_000);
});
