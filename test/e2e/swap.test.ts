// Firmware that holds one userDataEncryptionKey at a time: mode auto finds out from the bind's
// reply, re-encrypts first, then unbinds the old key and binds the new one, and proves a logon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, loadKeyMaterial, readSecrets } from '../../src/otp/index.js';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { cutoverWithoutLogonChecks, jsonEvents } from '../reliability/check.js';

let lab: E2eLab;
let before: Snapshot;
beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 1, firmware: 'single' });
  before = await lab.snapshot();
});
afterAll(async () => lab?.stop());

describe('swap mode (one binding at a time)', () => {
  it('plan states the outage window; mode overlap is refused with the reason, nothing changed', async () => {
    const plan = await lab.cli(['plan', CUTOVER, '-i', lab.inventory]);
    expect(plan.stdout).toMatch(/swap: between the re-encryption and this binding, users whose secrets were moved cannot log on/);
    // The plan says on what evidence mode auto swaps, and that it rests on an inference.
    expect(plan.stdout).toMatch(
      /It shows it only by refusing with errorcode 278 naming the key bound now \(an inference: no public source states the code\).*any other refusal fails the step and the run rolls back/,
    );
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--set', 'mode=overlap']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds one userDataEncryptionKey at a time .*run with mode swap/);
    expect(await lab.snapshot()).toEqual(before);
  });

  it('a failure after the swap rolls back by swapping back (unbind new, bind old at once): everything as before', async () => {
    await lab.fault('adc1', { on: 'POST nsconfig?action=save', errorcode: 278 });
    const r = await lab.cli(['run', cutoverWithoutLogonChecks(lab.root, [], true), '-i', lab.inventory, '--yes', '--json', '--set', 'mode=auto'], { timeoutMs: 60_000 });
    await lab.clearFaults();
    expect(r.code, r.stderr).toBe(1);
    const undo = jsonEvents(r.stdout).find((e) => e.type === 'undo' && e['step'] === 'bind-new-key#2');
    expect(undo?.['message']).toMatch(/one binding at a time: otp-enc-\S+ unbound, then otp-old bound again \(bound now: otp-old\)/);
    expect(await lab.snapshot()).toEqual(before);
  });

  it('mode auto: probe, re-encrypt, unbind old, bind new, logon, save', async () => {
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const order = ev.filter((e) => e['type'] === 'target' && e['status'] === 'ok').map((e) => e['step']);
    expect(order.indexOf('rekey-directory')).toBeLessThan(order.indexOf('unbind-old-key'));
    expect(order.indexOf('unbind-old-key')).toBeLessThan(order.indexOf('bind-new-key#2'));
    expect(ev.find((e) => e['type'] === 'target' && e['step'] === 'bind-new-key')?.['message']).toMatch(/one binding at a time/);
    // Swapped on the identified refusal: 278 naming the key bound now.
    expect(ev.find((e) => e['type'] === 'note' && e['step'] === 'bind-new-key' && e['target'] === 'adc1')?.['message']).toMatch(
      /one userDataEncryptionKey at a time \(bind refused: errorcode 278 ".*", naming otp-old, which is bound\)/,
    );
    const after = await lab.snapshot();
    expect(after.appliances['adc1'].bindings).toEqual([expect.stringMatching(/^otp-enc-/)]);
    const newKey = await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key });
    for (const u of lab.users().filter((x) => x.kind === 'single' || x.kind === 'multi')) {
      expect(readSecrets(after.directory[u.dn.toLowerCase()][0], new Keyring([newKey])).devices.map((d) => d.secret)).toEqual(u.devices.map((d) => d.secret));
    }
  }, 120_000);
});
