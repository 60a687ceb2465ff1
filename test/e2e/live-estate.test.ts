// A live estate between commands: users enrol devices after the plan was reviewed, and an
// operator proves the canary's logon by hand just before the run. Neither may make the run
// refuse or fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER, startE2eLab, type E2eLab } from '../helpers/e2e.js';
import { enrolDevice } from '../helpers/enrol.js';
import { jsonEvents } from '../reliability/check.js';

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 20, appliances: 1 });
}, 60_000);
afterAll(async () => lab?.stop());

describe('plan, enrolment, run --expect-plan', () => {
  it('a device enrolled after the plan does not make the reviewed plan "drift"', async () => {
    const plan = await lab.cli(['plan', CUTOVER, '-i', lab.inventory, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const hash = String((JSON.parse(plan.stdout) as { hash: string }).hash);
    const described = (JSON.parse(plan.stdout) as { steps: { id: string; changes: { description: string }[] }[] }).steps.find((s) => s.id === 'unbind-old-key')!.changes[0]!.description;
    const today = Number(/\((\d+) today/.exec(described)?.[1]);

    // A user with devices enrols one more: the count of devices under the old key moves.
    const user = lab.users().find((u) => u.kind === 'single')!;
    const r = await enrolDevice(lab, user, 'phone.after.plan', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const again = await lab.cli(['plan', CUTOVER, '-i', lab.inventory, '--json']);
    const nowDescribed = (JSON.parse(again.stdout) as { steps: { id: string; changes: { description: string }[] }[] }).steps.find((s) => s.id === 'unbind-old-key')!.changes[0]!.description;
    expect(nowDescribed).toContain(`(${today + 1} today`);
    expect((JSON.parse(again.stdout) as { hash: string }).hash).toBe(hash);

    const run = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--expect-plan', hash], { timeoutMs: 120_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonEvents(run.stdout).at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
    // Put the estate back for the next case.
    const runId = String(jsonEvents(run.stdout).find((e) => e.type === 'run')?.['runId']);
    const undo = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(undo.code, undo.stderr).toBe(0);
  }, 240_000);
});
