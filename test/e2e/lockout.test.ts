// Nobody is ever locked out, off the happy path (issue: "No user is ever locked out"). Each case
// reproduces a way the tool used to end with users who could not log on while it reported
// success or a clean rollback; each asserts, a few seconds after the command exits (so late
// writes have landed), that every device in the directory is readable by a key bound on every
// appliance, and the exit code: 0 only when the estate is as the report says, 1 only when it is
// exactly as before (users' own enrolments kept, readable under the old key), 3 otherwise.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptValue, loadKeyMaterial } from '../../src/otp/index.js';
import { Keyring, readSecrets } from '../../src/otp/index.js';
import { labState } from '../../src/lab/sim/index.js';
import { newTotpSecret } from '../../src/lab/seed.js';
import type { FaultSpec } from '../../src/lab/sim/index.js';
import type { CliResult } from '../helpers/cli.js';
import { startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { enrol, enrolmentMix, type Enrolled } from '../helpers/enrol.js';
import { labKids, lockedOut, lockedOutAfter } from '../helpers/invariant.js';
import { compareValues, cutoverWithoutLogonChecks, deriveInventory, jsonEvents, labKeyring } from '../reliability/check.js';

let lab: E2eLab;
let playbook: string;
/**
 * The same cutover with the re-encryption held to 10 entries a second, and an inventory that
 * has it read the directory 10 entries a page: the re-encryption has read every page within
 * moments of its start (its reader runs ahead of the writers), then works for some 3 s.
 */
let slowPlaybook: string;
let pagedInventory: string;
let inventory: string;

beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 2 });
  playbook = cutoverWithoutLogonChecks(lab.root);
  mkdirSync(join(lab.root, 'slow'));
  slowPlaybook = cutoverWithoutLogonChecks(join(lab.root, 'slow'), ['rate: 10']);
  // Short NITRO timeouts so a late write costs seconds, not the default 30.
  inventory = deriveInventory(lab, 'inventory-lockout.yaml', (doc) => {
    for (const a of doc['appliances'] as Record<string, unknown>[]) {
      a['timeoutMs'] = 5000;
      a['settleMs'] = 1000;
    }
  });
  pagedInventory = deriveInventory(lab, 'inventory-lockout-paged.yaml', (doc) => {
    for (const a of doc['appliances'] as Record<string, unknown>[]) {
      a['timeoutMs'] = 5000;
      a['settleMs'] = 1000;
    }
    (doc['directory'] as Record<string, unknown>)['pageSize'] = 10;
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

/** The userDataEncryptionKeys bound on a lab appliance, from the simulator's own state. */
async function keysOn(appliance: string): Promise<string[]> {
  const control = lab.state.simulator!.appliances.find((a) => a.name === appliance)!.controlUrl!;
  return (await labState(control)).bindings.filter((b) => b.kind === 'userdataencryptionkey').map((b) => b.certkey);
}

async function waitFor(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 60_000; !(await ok()); await new Promise((res) => setTimeout(res, 50))) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
  }
}

/**
 * Starts a run whose bind of the new key adc2 answers 2 s late, and meanwhile enrols, through
 * adc1 (which has the new key bound already), a user with no device, a legacy user (the gateway
 * re-encrypts all their devices) and one with a device — the `nth` of each kind: devices enrolled
 * between the bind and the re-encryption of their entry. `faults` are added for the rest of the run.
 */
async function runEnrollingBeforeTheRekey(nth: number, faults: FaultSpec[] = []): Promise<{ run: Promise<CliResult>; enrolled: Enrolled[] }> {
  const oldKey = (await keysOn('adc2'))[0];
  await lab.fault('adc2', { on: 'PUT vpnglobal_sslcertkey_binding', delayMs: 2000 });
  for (const f of faults) await lab.fault('adc2', f);
  const run = lab.cli(['run', playbook, '-i', inventory, '--yes', '--json'], { timeoutMs: 120_000 });
  await waitFor('adc1 binds the new key', async () => (await keysOn('adc1')).length === 2);
  const enrolled: Enrolled[] = [];
  for (const kind of ['none', 'legacy', 'single']) enrolled.push(await enrol(lab, 'adc1', lab.users().filter((u) => u.kind === kind)[nth].dn));
  // Still before the re-encryption: adc2's bind has not been answered yet.
  expect(await keysOn('adc2')).toEqual([oldKey]);
  expect(enrolled.map((e) => e.status)).toEqual(enrolled.map(() => 200));
  return { run, enrolled };
}

/**
 * The entries the run's re-encryption wrote. Of runEnrollingBeforeTheRekey's users, it never
 * writes the first two (the gateway had put all their devices under the new certificate: the
 * backup holds nothing to put them back with); the third kept its first device under the old
 * certificate, which it moves (its backup holds the enrolled device under the new certificate).
 */
function writtenByRekey(runId: string): string[] {
  return readFileSync(join(lab.root, 'home', 'runs', runId, 'directory-backup.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; entries?: { dn: string }[] })
    .flatMap((rec) => (rec.type === 'written' ? (rec.entries ?? []).map((e) => e.dn.toLowerCase()) : []));
}

describe('rollback after enrolments under the new key', () => {
  it('a finished cutover, with users enrolling between the bind and the re-encryption of their entry and after the run (first device, legacy user adding one, second device), then rollback: exit 0, every device readable under the old key', async () => {
    const before = await lab.snapshot();
    const { run, enrolled: early } = await runEnrollingBeforeTheRekey(3);
    const r = await run;
    await lab.clearFaults();
    expect(r.code, r.stderr).toBe(0);
    const runId = String(jsonEvents(r.stdout).find((e) => e.type === 'run')?.['runId']);
    expect(early.map((e) => writtenByRekey(runId).includes(e.dn.toLowerCase()))).toEqual([false, false, true]);
    const enrolled: Enrolled[] = [...early];
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
    expect(lockedOut(await lab.snapshot(), labKids(lab))).toEqual([]);
    await expectAsBeforeWithEnrolments(before, []);
  }, 180_000);
});

/**
 * A device for `dn` under the old certificate, written as root rather than through a gateway:
 * what an appliance outside the run (still on the old key alone), or a value put back by hand,
 * leaves in the directory. Returned in the shape of an enrolment, for the checks above.
 */
async function plantUnderOld(dn: string, device: string): Promise<Enrolled> {
  const old = await loadKeyMaterial({ cert: lab.status.certs.old.cert, key: lab.status.certs.old.key });
  await lab.putDirectory({ [dn.toLowerCase()]: [encryptValue([{ name: device, secret: newTotpSecret() }], old)] });
  return { user: dn, dn, device, status: 200 };
}

/** Matches the first progress line of the re-encryption: by then it has read every page (see slowPlaybook). */
const REKEY_UNDER_WAY = /"type":"progress","step":"rekey-directory"/;

describe('the forward guards: a device under the old certificate after the re-encryption', () => {
  it('written once the re-encryption had read its pages: the unbind refuses ("not unbinding", no unbind sent), the run rolls back (exit 1), nobody locked out', async () => {
    const before = await lab.snapshot();
    const target = lab
      .users()
      .filter((u) => u.kind === 'none')
      .at(-1)!;
    let planted: Promise<Enrolled> | undefined;
    // A user with no device: the re-encryption reads only entries that hold a value, so once it
    // has read its pages, the value written here is one it never sees.
    const r = await lab.cli(['run', slowPlaybook, '-i', pagedInventory, '--yes', '--json'], {
      timeoutMs: 120_000,
      onStdout: (out) => {
        if (!planted && REKEY_UNDER_WAY.test(out)) planted = plantUnderOld(target.dn, 'planted.after.scan');
      },
    });
    expect(planted, 'the re-encryption never reported progress').toBeDefined();
    const plantedDevice = await planted!;
    const events = jsonEvents(r.stdout);
    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'rolled-back' });
    const failed = events.find((e) => e.type === 'step-end' && e['status'] === 'failed');
    expect(failed?.['step']).toBe('unbind-old-key');
    const oldKid = (await loadKeyMaterial({ cert: lab.status.certs.old.cert, key: lab.status.certs.old.key })).kidText;
    const why = String(failed?.['error']);
    for (const a of ['adc1', 'adc2']) expect(why).toContain(`${a}: 1 device(s) of 1 user(s) are under the old certificate that`);
    expect(why).toContain(`KID ${oldKid}`);
    expect(why).toContain('not unbinding it');
    expect(why.toLowerCase()).toContain(target.dn.toLowerCase());
    // The guard acted before any unbind was sent, on either appliance.
    expect(events.filter((e) => e.type === 'intent' && e['step'] === 'unbind-old-key')).toEqual([]);
    expect(await lockedOutAfter(lab)).toEqual([]);
    await expectAsBeforeWithEnrolments(before, [plantedDevice]);
  }, 180_000);

  it('users enrol between the bind and the re-encryption of their entry, and a device appears under the old certificate once the unbind is under way: save-config refuses ("not saving", nothing saved), the rollback moves the enrolments back (exit 1), nobody locked out', async () => {
    const before = await lab.snapshot();
    const oldKey = before.appliances['adc1'].bindings[0];
    // adc2 also takes 1.5 s to unbind the old key: the moment between the unbind's census and the save.
    const { run, enrolled } = await runEnrollingBeforeTheRekey(2, [{ on: 'DELETE vpnglobal_sslcertkey_binding', delayMs: 1500 }]);
    await waitFor('adc1 unbinds the old key', async () => !(await keysOn('adc1')).includes(oldKey));
    const target = lab
      .users()
      .filter((u) => u.kind === 'none')
      .at(-3)!;
    const plantedDevice = await plantUnderOld(target.dn, 'planted.after.unbind');
    const r = await run;
    await lab.clearFaults();
    const newKid = (await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key })).kidText;
    expect(enrolled.every((e) => e.kid === newKid)).toBe(true);
    const events = jsonEvents(r.stdout);
    const runId = String(events.find((e) => e.type === 'run')?.['runId']);
    expect(enrolled.map((e) => writtenByRekey(runId).includes(e.dn.toLowerCase()))).toEqual([false, false, true]);

    expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'rolled-back' });
    const failed = events.find((e) => e.type === 'step-end' && e['status'] === 'failed');
    expect(failed?.['step']).toBe('save-config');
    expect(String(failed?.['error'])).toMatch(/not saving: .*under the old certificate/);
    expect(String(failed?.['error']).toLowerCase()).toContain(target.dn.toLowerCase());
    // Nothing saved: no save was journaled, none after the rollback either, and both appliances
    // still have unsaved changes (a save clears that).
    expect(events.filter((e) => e.type === 'intent' && e['step'] === 'save-config')).toEqual([]);
    for (const a of lab.state.simulator!.appliances) expect((await labState(a.controlUrl!)).configChanged).toBe(true);
    expect(await lockedOutAfter(lab)).toEqual([]);
    await expectAsBeforeWithEnrolments(before, [...enrolled, plantedDevice]);
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
    expect(lockedOut(await ha.snapshot(), labKids(ha))).toEqual([]);
    expect((await ha.snapshot()).appliances).toEqual(before.appliances);
  }, 180_000);
});
