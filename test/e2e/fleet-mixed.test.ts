// A mixed-firmware fleet in mode auto: the HA pair holds several userDataEncryptionKey bindings
// (overlap, no outage), adc3 holds one (swapped right after the re-encryption). The run keeps
// overlap where it can, says why, and ends with every appliance on the new key alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwarePerNode, parseFirmwareOption } from '../../src/lab/lab.js';
import { labState } from '../../src/lab/sim/index.js';
import { CUTOVER, startE2eLab, type E2eLab } from '../helpers/e2e.js';

type Ev = Record<string, unknown> & { type: string; seq: number };

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 30, appliances: 3, ha: true, firmware: 'mixed' });
});
afterAll(async () => lab?.stop());

describe('lab firmware per appliance', () => {
  it('mixed alternates by inventory target (an HA pair counts once); lists give one per node', () => {
    expect(firmwarePerNode(3, true, 'mixed')).toEqual(['multi', 'multi', 'single']);
    expect(firmwarePerNode(3, false, 'mixed')).toEqual(['multi', 'single', 'multi']);
    expect(firmwarePerNode(3, true, parseFirmwareOption('multi,single,multi'))).toEqual(['multi', 'single', 'multi']);
    expect(firmwarePerNode(2, false, parseFirmwareOption('single'))).toEqual(['single', 'single']);
    expect(() => firmwarePerNode(3, true, parseFirmwareOption('multi,single'))).toThrow(/2 entr\(ies\) for 3 appliance/);
    expect(() => parseFirmwareOption('multi,double')).toThrow(/"double" is not a firmware profile/);
  });
});

describe('mixed-firmware fleet', () => {
  it('the lab runs what it was asked for', async () => {
    const fw = await Promise.all(lab.state.simulator!.appliances.map(async (a) => (await labState(a.controlUrl!)).firmware));
    expect(fw).toEqual(['multi', 'multi', 'single']);
    expect(lab.status.appliances.map((a) => a.firmware)).toEqual(['multi', 'multi', 'single']);
  });

  it('mode auto: overlap on the pair, swap on adc3 after the re-encryption, the reason said, every gateway proven', async () => {
    const plan = await lab.cli(['plan', CUTOVER, '-i', lab.inventory]);
    expect(plan.stdout).toMatch(
      /mode auto: the overlap bind is also the firmware probe on each appliance.*A mixed fleet keeps overlap where it can: keeping the new key off those appliances too would not shorten the swap window/,
    );

    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev)
      .filter((e) => e.type !== 'progress');
    const target = (step: string, name: string) => ev.find((e) => e.type === 'target' && e['step'] === step && e['target'] === name)!;

    // The probe decided per appliance.
    expect(target('bind-new-key', 'adc1-adc2')).toMatchObject({ status: 'ok', changed: { capability: 'multi' } });
    expect(target('bind-new-key', 'adc3')).toMatchObject({ status: 'skipped', changed: { capability: 'single' } });
    expect(String(target('bind-new-key', 'adc3')['message'])).toMatch(/one binding at a time: otp-enc-\S+ is bound after re-encryption \(swap\)/);
    const why = ev.find((e) => e.type === 'note' && e['target'] === 'fleet' && e['step'] === 'bind-new-key')!;
    expect(String(why['message'])).toMatch(/mixed firmware: both keys bound now on adc1-adc2 .*one key at a time on adc3, swapped right after the re-encryption.*would not shorten that window/);

    // Order: the pair overlaps before the directory; adc3 is unbound then bound after it, and
    // only adc3 is bound in the swap phase.
    const seqOf = (step: string, name: string) => ev.find((e) => e.type === 'intent' && e['step'] === step && e['target'] === name)!.seq;
    const rekey = ev.find((e) => e.type === 'intent' && e['step'] === 'rekey-directory')!.seq;
    expect(seqOf('bind-new-key', 'adc1-adc2')).toBeLessThan(rekey);
    expect(rekey).toBeLessThan(seqOf('unbind-old-key', 'adc3'));
    expect(seqOf('unbind-old-key', 'adc3')).toBeLessThan(seqOf('bind-new-key#2', 'adc3'));
    expect(target('bind-new-key#2', 'adc1-adc2')['status']).toBe('skipped');
    // After the re-encryption only the pair can log the canary on; adc3 is proven at the end.
    expect(target('logon-check', 'adc1-adc2')['status']).toBe('ok');
    expect(String(target('logon-check', 'adc3')['message'])).toMatch(/not bound here yet \(swap after re-encryption\)/);
    expect(target('logon-check#2', 'adc1-adc2')['status']).toBe('ok');
    expect(target('logon-check#2', 'adc3')['status']).toBe('ok');

    const after = await lab.snapshot();
    const key = after.appliances['adc1'].bindings;
    expect(key).toEqual([expect.stringMatching(/^otp-enc-/)]);
    expect(after.appliances['adc2'].bindings).toEqual(key);
    expect(after.appliances['adc3'].bindings).toEqual(key);
  }, 60_000);
});
