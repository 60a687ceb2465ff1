// An HA failover in the middle of a fleet run is followed, not fatal. Deterministic: the unbind
// on the pair's primary (adc1) is held by a delay fault; once the simulator has taken the fault
// (the request is waiting), the pair fails over; the held request then meets a secondary
// (1028), the client finds the new primary and repeats it there, and the next write phase
// re-detects the primary and says the pair moved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failover, labState } from '../../src/lab/sim/index.js';
import { CUTOVER, startE2eLab, type E2eLab } from '../helpers/e2e.js';

type Ev = Record<string, unknown> & { type: string; seq: number };

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 30, appliances: 3, ha: true });
});
afterAll(async () => lab?.stop());

const control = (name: string) => lab.state.simulator!.appliances.find((a) => a.name === name)!.controlUrl!;

describe('fleet run across an HA failover', () => {
  it('adc1 fails over to adc2 while the old key is being unbound: the run follows the new primary and succeeds', async () => {
    const before = await lab.snapshot();
    // DELETE vpnglobal_sslcertkey_binding is sent only by the unbind phase (step 6).
    await lab.fault('adc1', { on: 'DELETE vpnglobal_sslcertkey_binding', delayMs: 2500 });
    const run = lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 60_000 });
    const deadline = Date.now() + 30_000;
    while ((await labState(control('adc1'))).faults.length > 0) {
      if (Date.now() > deadline) throw new Error('the unbind never reached adc1');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await failover(control('adc1'))).toBe('adc2');
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const ev = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev)
      .filter((e) => e.type !== 'progress');
    expect(ev.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });

    const [adc1Url, adc2Url] = [lab.state.simulator!.appliances[0].nitroHttpsUrl, lab.state.simulator!.appliances[1].nitroHttpsUrl];
    const unbind = ev.find((e) => e.type === 'target' && e['step'] === 'unbind-old-key' && e['target'] === 'adc1-adc2')!;
    expect(unbind['status']).toBe('ok');
    // Read back on the node that is secondary now: adc1.
    expect(String(unbind['message'])).toContain(`the HA secondary ${adc1Url} lists the same`);
    const moved = ev.find((e) => e.type === 'note' && e['target'] === 'adc1-adc2' && /HA failover since the last look/.test(String(e['message'])))!;
    // Said by the next write phase after the unbind (the swap bind, step 7), which re-detected it.
    expect(moved).toMatchObject({ step: 'bind-new-key#2', level: 'warn' });
    expect(String(moved['message'])).toContain(`${adc2Url} is the primary now (was ${adc1Url})`);
    expect(ev.filter((e) => e.type === 'target' && e['step'] === 'logon-check#2').map((e) => e['status'])).toEqual(['ok', 'ok']);

    const [s1, s2] = await Promise.all([labState(control('adc1')), labState(control('adc2'))]);
    expect([s1.role, s2.role]).toEqual(['secondary', 'primary']);
    expect(s2.configChanged).toBe(false); // saved on the new primary
    const after = await lab.snapshot();
    for (const n of ['adc1', 'adc2', 'adc3']) expect(after.appliances[n].bindings, n).toEqual([expect.stringMatching(/^otp-enc-/)]);
    expect(after.appliances['adc1']).toEqual(after.appliances['adc2']);
    expect(after.directory).not.toEqual(before.directory);
  }, 60_000);
});
