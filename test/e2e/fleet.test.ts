// A fleet of an HA pair (adc1+adc2, one target) and a stand-alone appliance (adc3) sharing one
// directory: the plan says per appliance what it is and what will change, the run moves them
// together with barriers between phases, and both nodes of the pair end the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, loadKeyMaterial, readSecrets } from '../../src/otp/index.js';
import { CUTOVER, runEvents, startE2eLab, type E2eLab, type RunEvent } from '../helpers/e2e.js';

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 3, ha: true });
});
afterAll(async () => lab?.stop());

describe('fleet cutover: an HA pair and a stand-alone appliance', () => {
  it('the plan shows each appliance (HA role, current key, firmware, changes) and the failure budget in plain words', async () => {
    const plan = await lab.cli(['plan', CUTOVER, '-i', lab.inventory]);
    expect(plan.code, plan.stderr).toBe(0);
    const text = plan.stdout;
    expect(text).toMatch(/adc1-adc2: HA pair, one target: primary https:\/\/\S+ takes the writes; secondary https:\/\/\S+ \(Secondary; read back, never written\)/);
    expect(text).toMatch(/adc3: stand-alone https:\/\/\S+/);
    expect(text.match(/current key: userDataEncryptionKey otp-old \(old certificate\)/g)).toHaveLength(2);
    expect(text).toMatch(
      /firmware: 13\.1-49\.15 \(nsversion\); not known yet \(no read tells\): the overlap bind probes it; overlap if both keys are listed after it; swap after the re-encryption only on evidence of one key at a time: the bind refused with errorcode 278 naming the key bound now \(otp-old\), or the bind replacing that key \(put back at once\); any other refusal stops the run and rolls it back \(if this firmware holds one key at a time, run with mode: swap\)/,
    );
    expect(text).toMatch(/will change: 2\. upload certificate and key .*; 3\. bind otp-enc-\S+ next to otp-old; 6\. unbind otp-old; .*9\. save ns config/);
    expect(text).toMatch(/failure budget 0 \(the default\): if any appliance fails at any step, the run stops and rolls back every appliance and the directory/);
    expect(text).toMatch(/phases with barriers: each step finishes on every appliance before the next starts/);

    const budget = await lab.cli(['plan', CUTOVER, '-i', lab.inventory, '--set', 'maxFailedAppliances=1', '--json']);
    const doc = JSON.parse(budget.stdout) as { failureBudget: string; appliances: { name: string; facts: Record<string, unknown>; changes: string[] }[] };
    expect(doc.failureBudget).toMatch(/up to 1 appliance\(s\) may fail; each is left out of the rest of the run.*stays on the old key only.*which appliance is on which key/);
    const pair = doc.appliances.find((a) => a.name === 'adc1-adc2')!;
    expect(pair.facts).toMatchObject({ mode: 'ha', bound: ['otp-old'], oldCertkey: 'otp-old', capability: 'unknown', haSync: 'ENABLED' });
    expect(pair.facts['secondary']).toMatch(/^https:/);
    expect(pair.facts['secondary']).not.toBe(pair.facts['primary']);
  });

  it('moves every appliance with barriers between phases; both nodes of the pair end with the same certkey, files and bindings', async () => {
    const before = await lab.snapshot();
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = runEvents(r.stdout);
    expect(ev.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });

    // Barriers, from the journal's own order (seq): every write of a phase is done on every
    // appliance before the first write of the next phase is even intended.
    const intents = (step: string) => ev.filter((e) => e.type === 'intent' && e['step'] === step);
    const doneOf = (step: string) => {
      const ids = new Set(intents(step).map((e) => e['id']));
      return ev.filter((e) => e.type === 'done' && ids.has(e['id']));
    };
    const last = (xs: RunEvent[]) => Math.max(...xs.map((e) => e.seq));
    const first = (xs: RunEvent[]) => Math.min(...xs.map((e) => e.seq));
    const stepEnd = (step: string) => ev.find((e) => e.type === 'step-end' && e['step'] === step)!;
    const importDone = doneOf('import-certkey');
    expect(new Set(importDone.map((e) => intents('import-certkey').find((i) => i['id'] === e['id'])!['target']))).toEqual(new Set(['adc1-adc2', 'adc3']));
    expect(last(importDone)).toBeLessThan(first(intents('bind-new-key')));
    expect(doneOf('bind-new-key')).toHaveLength(2);
    expect(last(doneOf('bind-new-key'))).toBeLessThan(first(intents('rekey-directory')));
    const census = ev.find((e) => e.type === 'note' && e['step'] === 'unbind-old-key' && /census before unbinding: no device under the old certificate/.test(String(e['message'])))!;
    expect(census).toBeDefined();
    expect(stepEnd('logon-check')).toMatchObject({ status: 'ok' });
    expect(ev.filter((e) => e.type === 'target' && e['step'] === 'logon-check').map((e) => e['status'])).toEqual(['ok', 'ok']);
    expect(stepEnd('logon-check').seq).toBeLessThan(census.seq);
    expect(census.seq).toBeLessThan(first(intents('unbind-old-key')));

    // The pair: writes on the primary, the secondary read back after each change.
    const target = (step: string, name: string) => String(ev.find((e) => e.type === 'target' && e['step'] === step && e['target'] === name)!['message']);
    expect(target('import-certkey', 'adc1-adc2')).toMatch(/files synced to the secondary and seen there/);
    expect(target('bind-new-key', 'adc1-adc2')).toMatch(/the HA secondary https:\/\/\S+ lists the same/);
    expect(target('unbind-old-key', 'adc1-adc2')).toMatch(/the HA secondary https:\/\/\S+ lists the same/);
    expect(target('save-config', 'adc1-adc2')).toMatch(/userDataEncryptionKey: otp-enc-\S+ \(new: /);
    expect(target('save-config', 'adc3')).toMatch(/userDataEncryptionKey: otp-enc-\S+ \(new: /);
    expect(ev.some((e) => e.type === 'note' && e['target'] === 'fleet' && /every appliance is on the new key alone: adc1-adc2, adc3/.test(String(e['message'])))).toBe(true);

    const after = await lab.snapshot();
    const [adc1, adc2, adc3] = [after.appliances['adc1'], after.appliances['adc2'], after.appliances['adc3']];
    const newCertkey = adc1.bindings[0];
    expect(newCertkey).toMatch(/^otp-enc-/);
    for (const a of [adc1, adc2, adc3]) {
      expect(a.bindings).toEqual([newCertkey]);
      expect(a.certkeys.some((c) => c.startsWith(`${newCertkey}:`))).toBe(true);
      expect(a.files.filter((f) => f.startsWith(newCertkey))).toHaveLength(2);
    }
    // Both nodes of the pair hold the same files, certkeys and bindings (the secondary by sync).
    expect(adc2).toEqual(adc1);
    // Nothing appeared on the secondary except by sync: before the run both nodes matched too.
    expect(before.appliances['adc2']).toEqual(before.appliances['adc1']);

    // One directory serves the fleet: every enrolled user is under the new certificate.
    const kr = new Keyring([await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key })]);
    const enrolled = lab.users().filter((u) => u.kind === 'single' || u.kind === 'multi');
    for (const u of enrolled) {
      expect(readSecrets(after.directory[u.dn.toLowerCase()][0], kr).devices.map((d) => d.secret)).toEqual(u.devices.map((d) => d.secret));
    }

    // The final logon proof went through both gateways.
    expect(ev.filter((e) => e.type === 'target' && e['step'] === 'logon-check#2').map((e) => [e['target'], e['status']])).toEqual([
      ['adc1-adc2', 'ok'],
      ['adc3', 'ok'],
    ]);
    for (const s of lab.secrets()) expect(r.stdout.includes(s)).toBe(false);
  }, 90_000);
});
