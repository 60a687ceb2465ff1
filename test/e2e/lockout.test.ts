// Nobody is ever locked out, off the happy path (issue: "No user is ever locked out"). Each case
// reproduces a way the tool used to end with users who could not log on while it reported
// success or a clean rollback; each asserts, a few seconds after the command exits (so late
// writes have landed), that every device in the directory is readable by a key bound on every
// appliance, and the exit code: 0 only when the estate is as the report says, 1 only when it is
// exactly as before (users' own enrolments kept, readable under the old key), 3 otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyMaterial } from '../../src/otp/index.js';
import { Keyring, readSecrets } from '../../src/otp/index.js';
import { labState } from '../../src/lab/sim/index.js';
import { startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { enrol, enrolmentMix, type Enrolled } from '../helpers/enrol.js';
import { lockedOut, lockedOutAfter } from '../helpers/invariant.js';
import { compareValues, cutoverWithoutLogonChecks, deriveInventory, jsonEvents, labKeyring } from '../reliability/check.js';

let lab: E2eLab;
let playbook: string;
let inventory: string;

beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 2 });
  playbook = cutoverWithoutLogonChecks(lab.root);
  // Short NITRO timeouts so a late write costs seconds, not the default 30.
  inventory = deriveInventory(lab, 'inventory-lockout.yaml', (doc) => {
    for (const a of doc['appliances'] as Record<string, unknown>[]) {
      a['timeoutMs'] = 5000;
      a['settleMs'] = 1000;
    }
  });
});
afterAll(async () => lab?.stop());

/** Every enrolled device is in its user's value and reads with the old certificate alone. */
async function expectEnrolmentsReadUnderOld(after: Snapshot, enrolled: Enrolled[]): Promise<void> {
  const old = await loadKeyMaterial({ cert: lab.status.certs.old.cert, key: lab.status.certs.old.key });
  for (const e of enrolled) {
    const value = after.directory[e.dn.toLowerCase()]?.[0];
    expect(value, `${e.dn} has a value`).toBeDefined();
    const devices = readSecrets(value, new Keyring([old])).devices.map((d) => d.name);
    expect(devices, `${e.dn} keeps ${e.device}`).toContain(e.device);
  }
}

/** The appliance half is exactly as before; every value reads as before or grew by the user's own enrolment. */
async function expectAsBeforeWithEnrolments(before: Snapshot, enrolled: Enrolled[]): Promise<Snapshot> {
  const after = await lab.snapshot();
  expect(after.appliances).toEqual(before.appliances);
  const v = compareValues(before.directory, after.directory, await labKeyring(lab), { mayGrow: new Set(enrolled.map((e) => e.dn.toLowerCase())) });
  expect(v.bad).toEqual([]);
  await expectEnrolmentsReadUnderOld(after, enrolled);
  return after;
}

describe('rollback after enrolments under the new key', () => {
  it('a finished cutover, then users enrol (first device, legacy user adding one, second device), then rollback: exit 0, every device readable under the old key', async () => {
    const before = await lab.snapshot();
    const r = await lab.cli(['run', playbook, '-i', inventory, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const runId = String(jsonEvents(r.stdout).find((e) => e.type === 'run')?.['runId']);
    const enrolled: Enrolled[] = [];
    for (const [i, dn] of enrolmentMix(lab).entries()) enrolled.push(await enrol(lab, i % 2 ? 'adc2' : 'adc1', dn));
    expect(enrolled.map((e) => e.status)).toEqual(enrolled.map(() => 200));
    // The gateway wrote them under the new certificate: exactly what a careless rollback strands.
    const newKid = (await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key })).kidText;
    expect(enrolled.every((e) => e.kid === newKid)).toBe(true);

    const undo = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    const events = jsonEvents(undo.stdout);
    expect(undo.code, undo.stderr + undo.stdout.slice(-2000)).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'rolled-back' });
    expect(events.find((e) => e.type === 'invariant')).toMatchObject({ holds: true });
    expect(await lockedOutAfter(lab)).toEqual([]);
    await expectAsBeforeWithEnrolments(before, enrolled);
  }, 180_000);

  it('a run that fails at the unbind while users enrol: exit 1, the enrolled users can log on everywhere, appliances as before', async () => {
    const before = await lab.snapshot();
    // adc2's unbind hangs 4 s, then is refused: adc1 is on the new key alone meanwhile, and
    // every enrolment on either appliance goes under the new certificate.
    await lab.fault('adc2', { on: 'DELETE vpnglobal_sslcertkey_binding', delayMs: 2500, errorcode: 278 });
    const run = lab.cli(['run', playbook, '-i', inventory, '--yes', '--json'], { timeoutMs: 120_000 });
    const adc1 = lab.state.simulator!.appliances.find((a) => a.name === 'adc1')!.controlUrl!;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await labState(adc1);
      const keys = s.bindings.filter((b) => b.kind === 'userdataencryptionkey').map((b) => b.certkey);
      if (keys.length === 1 && keys[0] !== before.appliances['adc1'].bindings[0]) break;
      if (Date.now() > deadline) throw new Error('adc1 never reached the new key alone');
      await new Promise((res) => setTimeout(res, 50));
    }
    const enrolled: Enrolled[] = [];
    for (const [i, dn] of enrolmentMix(lab).entries()) enrolled.push(await enrol(lab, i % 2 ? 'adc2' : 'adc1', dn));
    const r = await run;
    await lab.clearFaults();
    expect(enrolled.map((e) => e.status)).toEqual(enrolled.map(() => 200));
    const events = jsonEvents(r.stdout);
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'rolled-back' });
    expect(await lockedOutAfter(lab)).toEqual([]);
    await expectAsBeforeWithEnrolments(before, enrolled);
  }, 180_000);
});

describe('a late unbind of the old key', () => {
  it('answered after the timeout and the settle window, applied then: the rollback keeps the new key and the directory under it (exit 3); a later rollback finishes', async () => {
    const before = await lab.snapshot();
    // 5 s timeout, 1 s settle, the undo's extra 1 s: the unbind lands at 9 s, after all of them.
    await lab.fault('adc2', { on: 'DELETE vpnglobal_sslcertkey_binding', delayMs: 9000 });
    const r = await lab.cli(['run', playbook, '-i', inventory, '--yes', '--json'], { timeoutMs: 120_000 });
    await lab.clearFaults();
    const events = jsonEvents(r.stdout);
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(3);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'rollback-incomplete' });
    expect(String(events.find((e) => e.type === 'undo' && e['step'] === 'unbind-old-key' && e['target'] === 'adc2')?.['message'])).toMatch(/may still be applied.*run 'adc-cutover rollback/);
    // Wait for the late write, then: nobody locked out, the old key gone from adc2 as it landed.
    expect(await lockedOutAfter(lab, 10_000)).toEqual([]);
    const mid = await lab.snapshot();
    expect(mid.appliances['adc2'].bindings).not.toContain(before.appliances['adc2'].bindings[0]);

    // With the write landed, a rollback has nothing pending: it finishes, exactly as before.
    const runId = String(events.find((e) => e.type === 'run')?.['runId']);
    const undo = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(undo.code, undo.stderr + undo.stdout.slice(-2000)).toBe(0);
    expect(lockedOut(await lab.snapshot())).toEqual([]);
    await expectAsBeforeWithEnrolments(before, []);
  }, 180_000);
});

describe('a late unbind of the old key on an HA pair', () => {
  let ha: E2eLab;
  beforeAll(async () => {
    ha = await startE2eLab({ users: 30, appliances: 2, ha: true });
  });
  afterAll(async () => ha?.stop());

  it('the primary answers the unbind after the timeout and applies it then: both nodes keep a key every device needs (exit 3)', async () => {
    const pb = cutoverWithoutLogonChecks(ha.root);
    const inv = deriveInventory(ha, 'inventory-lockout-ha.yaml', (doc) => {
      for (const a of doc['appliances'] as Record<string, unknown>[]) {
        a['timeoutMs'] = 5000;
        a['settleMs'] = 1000;
      }
    });
    const before = await ha.snapshot();
    await ha.fault('adc1', { on: 'DELETE vpnglobal_sslcertkey_binding', delayMs: 9000 });
    const r = await ha.cli(['run', pb, '-i', inv, '--yes', '--json'], { timeoutMs: 120_000 });
    await ha.clearFaults();
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(3);
    expect(await lockedOutAfter(ha, 10_000)).toEqual([]);
    // Both nodes of the pair: the late unbind landed on the primary and propagated; the new key stayed.
    const mid = await ha.snapshot();
    expect(mid.appliances['adc1'].bindings).toEqual(mid.appliances['adc2'].bindings);
    expect(mid.appliances['adc1'].bindings).not.toContain(before.appliances['adc1'].bindings[0]);
    const runId = String(jsonEvents(r.stdout).find((e) => e.type === 'run')?.['runId']);
    const undo = await ha.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(undo.code, undo.stderr + undo.stdout.slice(-2000)).toBe(0);
    expect(lockedOut(await ha.snapshot())).toEqual([]);
    expect((await ha.snapshot()).appliances).toEqual(before.appliances);
  }, 180_000);
});
