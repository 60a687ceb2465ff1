// A fleet fails as one: a fault on the last appliance in a binding phase, after the pair has
// already changed and the directory has been re-encrypted, rolls back every appliance (both
// nodes of the pair) and the directory byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER, runEvents, startE2eLab, type E2eLab } from '../helpers/e2e.js';

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 3, ha: true });
});
afterAll(async () => lab?.stop());

describe('fleet rollback', () => {
  it('a fault on adc3 while unbinding the old key rolls back the pair, adc3 and the directory exactly', async () => {
    const before = await lab.snapshot();
    // One appliance at a time, so the pair (first in the inventory) has really changed before adc3 fails.
    await lab.fault('adc3', { on: 'DELETE vpnglobal_sslcertkey_binding', errorcode: 278 });
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--set', 'parallel=1'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const ev = runEvents(r.stdout);
    expect(ev.at(-1)).toMatchObject({ type: 'run-end', status: 'rolled-back', exitCode: 1 });
    const failed = ev.find((e) => e.type === 'target' && e['step'] === 'unbind-old-key' && e['status'] === 'failed')!;
    expect(failed['target']).toBe('adc3');
    expect(String(failed['message'])).toMatch(/adc3.*vpnglobal_sslcertkey_binding.*278/);
    // The pair had unbound the old key, and the directory was re-encrypted, before adc3 failed.
    expect(ev.find((e) => e.type === 'target' && e['step'] === 'unbind-old-key' && e['target'] === 'adc1-adc2')?.['status']).toBe('ok');
    expect(ev.find((e) => e.type === 'step-end' && e['step'] === 'rekey-directory')?.['status']).toBe('ok');

    const undos = ev.filter((e) => e.type === 'undo');
    expect(undos.filter((u) => u['status'] === 'failed')).toEqual([]);
    const undone = (step: string, target: string) => undos.filter((u) => u['step'] === step && u['target'] === target && u['status'] === 'undone').map((u) => String(u['message']));
    expect(undone('unbind-old-key', 'adc1-adc2').join()).toMatch(/otp-old bound again/);
    expect(undone('rekey-directory', 'directory').join()).toMatch(/original value\(s\) put back/);
    expect(undone('bind-new-key', 'adc1-adc2').join()).toMatch(/unbound/);
    expect(undone('bind-new-key', 'adc3').join()).toMatch(/unbound/);
    expect(undone('import-certkey', 'adc1-adc2').join()).toMatch(/gone from the HA secondary/);

    // Every node — the pair's primary and secondary, and adc3 — and every directory value as before.
    expect(await lab.snapshot()).toEqual(before);
  }, 60_000);
});
