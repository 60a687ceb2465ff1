// A live estate between commands: an operator proves the canary's logon by hand just before the
// run, and users enrol devices after the plan was reviewed. Neither may make the run fail or
// refuse, and nobody is locked out after any command (test/helpers/invariant.ts; no fault here
// holds a write back, so there is no late write to wait for).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startE2eLab, type E2eLab } from '../helpers/e2e.js';
import { enrolDevice } from '../helpers/enrol.js';
import { lockedOutAfter, NO_LATE_WRITES_MS } from '../helpers/invariant.js';
import { cutoverWithoutLogonChecks, jsonEvents } from '../reliability/check.js';

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 20, appliances: 1 });
}, 60_000);
afterAll(async () => lab?.stop());

const STEP_MS = 30_000;

describe('logon-check by hand, then run', () => {
  it('the run never resends the code the standalone check used (another canary of the pool, or the next step), and its check succeeds', async () => {
    const { canary } = lab.status;
    // The run's check must fall in the step the standalone check used: start with room left in it.
    if (STEP_MS - (Date.now() % STEP_MS) < 20_000) await new Promise((r) => setTimeout(r, STEP_MS - (Date.now() % STEP_MS) + 100));
    const check = await runCli(
      [
        'logon-check',
        '--gateway',
        lab.status.appliances[0].gatewayUrl,
        '--user',
        canary.sAMAccountName,
        '--password-env',
        'CANARY_PASSWORD',
        '--totp-secret-env',
        'CANARY_TOTP',
        '--ca',
        lab.status.directory.caFile,
        '--json',
      ],
      {
        // Another state directory and working directory than the run's: the memory is the machine's.
        cwd: lab.labDir,
        env: { ADC_CUTOVER_HOME: join(lab.root, 'operator-home'), CANARY_PASSWORD: readFileSync(canary.passwordFile, 'utf8').trim(), CANARY_TOTP: readFileSync(canary.totpSecretFile, 'utf8').trim() },
      },
    );
    expect(check.code, check.stderr + check.stdout).toBe(0);
    const usedStep = Math.floor(Date.now() / STEP_MS);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);

    const playbook = join(lab.root, 'logon-only.yaml');
    writeFileSync(playbook, 'name: logon-only\nsteps:\n  - uses: preflight\n  - uses: logon-check\n');
    const run = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 90_000 });
    expect(run.code, run.stderr + run.stdout.slice(-3000)).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    const events = jsonEvents(run.stdout);
    expect(events.filter((e) => e.type === 'target' && e['step'] === 'logon-check').map((e) => e['status'])).toEqual(['ok']);
    // It knew the standalone check had used this step's code for that canary: with the lab's
    // pool it takes another canary at once; with a pool of one it would wait for the next step.
    const logon = String(events.find((e) => e.type === 'target' && e['step'] === 'logon-check')?.['message']);
    const waited = events.find((e) => e.type === 'note' && e['step'] === 'logon-check' && /already accepted this step's code/.test(String(e['message'])));
    const sameCanary = new RegExp(`logon of ${canary.sAMAccountName} ok`).test(logon);
    if (sameCanary) {
      expect(String(waited?.['message'])).toMatch(/already accepted this step's code for this user; waiting \d+ s for the next step/);
      expect(Math.floor(Date.now() / STEP_MS)).toBeGreaterThan(usedStep);
    } else {
      expect(logon).toMatch(/logon of \S+ ok/);
      expect(lab.status.canaries?.length ?? 1).toBeGreaterThan(1);
    }
  }, 120_000);
});

describe('plan, enrolment, run --expect-plan', () => {
  it('a device enrolled after the plan does not make the reviewed plan "drift"', async () => {
    const playbook = cutoverWithoutLogonChecks(lab.root);
    type Plan = { hash: string; steps: { id: string; changes: { description: string }[] }[] };
    const planOf = async () => {
      const p = await lab.cli(['plan', playbook, '-i', lab.inventory, '--json']);
      expect(p.code, p.stderr).toBe(0);
      expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
      const doc = JSON.parse(p.stdout) as Plan;
      return { hash: doc.hash, unbind: doc.steps.find((s) => s.id === 'unbind-old-key')!.changes[0].description };
    };
    const reviewed = await planOf();
    const today = Number(/\((\d+) today/.exec(reviewed.unbind)?.[1]);

    // A user with devices enrols one more: the count of devices under the old key moves.
    const user = lab.users().find((u) => u.kind === 'single')!;
    const r = await enrolDevice(lab, user, 'phone.after.plan', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const live = await planOf();
    expect(live.unbind).toContain(`(${today + 1} today`);
    expect(live.hash).toBe(reviewed.hash);

    const run = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json', '--expect-plan', reviewed.hash], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    expect(jsonEvents(run.stdout).at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
  }, 90_000);
});
