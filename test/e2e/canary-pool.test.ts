// The canary pool on the lab: `lab up` seeds three canaries and writes them to the inventory as
// `canaries:`; four logon checks through one gateway, started early in a TOTP step, take the three
// canaries in turn without waiting, and only the fourth waits for the next step. The plan says how
// many checks the pool covers.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runEvents, startE2eLab, type E2eLab } from '../helpers/e2e.js';

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 10, appliances: 1 });
});
afterAll(async () => lab?.stop());

it('four checks in one TOTP step: canary, canary2, canary3 at once, the fourth waits for the next step', async () => {
  const playbook = join(lab.root, 'four-checks.yaml');
  writeFileSync(playbook, `name: four-checks\nsteps:\n${'  - uses: logon-check\n    with: { phase: before }\n'.repeat(4)}`);

  const plan = await lab.cli(['plan', playbook, '-i', lab.inventory]);
  expect(plan.code, plan.stderr).toBe(0);
  expect(plan.stdout).toMatch(/4 logon check\(s\) per gateway; the canary pool \(3: canary, canary2, canary3\) covers 3 check\(s\) per gateway in one 30-s TOTP step without waiting/);

  // Start with at least 12 s of the step to go, so the first three fit in it whatever the machine's load.
  const intoStep = (Date.now() % 30_000) / 1000;
  if (intoStep > 15) await new Promise((r) => setTimeout(r, (30 - intoStep) * 1000 + 200));
  const startedStep = Math.floor(Date.now() / 30_000);
  const r = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  const ev = runEvents(r.stdout);
  const steps = ['logon-check', 'logon-check#2', 'logon-check#3', 'logon-check#4'];
  const results = steps.map((s) => ev.find((e) => e.type === 'target' && e['step'] === s && e['target'] === 'adc1')!);
  expect(results.map((t) => /logon of (canary\d?) ok/.exec(String(t['message']))?.[1])).toEqual(['canary', 'canary2', 'canary3', 'canary']);
  // Only the fourth waited, and it said why (the pool's note, then the passcode's own).
  const waits = ev.filter((e) => e.type === 'note' && /waiting \d+ s for the next/.test(String(e['message'])));
  expect([...new Set(waits.map((e) => e['step']))]).toEqual(['logon-check#4']);
  expect(String(waits[0]['message'])).toMatch(/every canary \(3\) has logged on through https:\/\/127\.0\.0\.1:\d+ in this TOTP step: waiting \d+ s/);
  // The first three ended in the step the run started in; the fourth in a later one.
  const ends = steps.map((s) => Date.parse(String(ev.find((e) => e.type === 'step-end' && e['step'] === s)!['t'])));
  expect(ends.slice(0, 3).map((t) => Math.floor(t / 30_000))).toEqual([startedStep, startedStep, startedStep]);
  expect(Math.floor(ends[3] / 30_000)).toBeGreaterThan(startedStep);
}, 90_000);

it('logon-check -i: every gateway of the inventory with a canary of the pool; it knows what the run used in this step', async () => {
  // Right after the run above, whose fourth check took `canary` at the start of this step: the
  // next two commands take the two canaries left, each process seeing what the others used.
  const step = Math.floor(Date.now() / 30_000);
  const users: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await lab.cli(['logon-check', '-i', lab.inventory, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as { appliance: string; user: string; outcome: string; message: string }[];
    expect(results.map((x) => [x.appliance, x.outcome])).toEqual([['adc1', 'ok']]);
    users.push(results[0].user);
  }
  expect(Math.floor(Date.now() / 30_000), 'the commands took longer than the rest of the step').toBe(step);
  expect(users).toEqual(['canary2', 'canary3']);
  const one = await lab.cli(['logon-check', '-i', lab.inventory, '--user', 'canary9']);
  expect(one.code).toBe(2);
  expect(one.stderr).toMatch(/--user canary9: not a canary of .*inventory\.yaml \(it has: canary, canary2, canary3\)/);
}, 60_000);
