// The rule every writing playbook command shares: with nobody at a terminal to ask, `run`,
// `resume` and `rollback` refuse without --yes (exit 2, nothing changed, the journal untouched);
// a dry run needs no --yes; with --yes and --json they go ahead and print JSON lines of events.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CUTOVER, runEvents, startE2eLab, type E2eLab } from '../helpers/e2e.js';

let lab: E2eLab;
beforeAll(async () => {
  lab = await startE2eLab({ users: 5, appliances: 1 });
});
afterAll(async () => lab?.stop());

const runsDir = () => join(lab.root, 'home', 'runs');
const runIds = () => (existsSync(runsDir()) ? readdirSync(runsDir()).sort() : []);

it('run, resume and rollback refuse without --yes when nobody can confirm; --dry-run and --yes --json go ahead', async () => {
  const before = await lab.snapshot();
  const refused = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--json']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/run writes and there is no terminal to ask on: add --yes to go ahead; nothing was changed/);
  expect(refused.stdout).toBe('');
  expect(runIds()).toEqual([]);
  expect(await lab.snapshot()).toEqual(before);

  const dry = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--dry-run', '--json']);
  expect(dry.code, dry.stderr).toBe(0);
  expect(runEvents(dry.stdout).at(-1)).toMatchObject({ type: 'run-end', exitCode: 0 });

  // A run that changes nothing but proves a logon: something to resume and roll back.
  const playbook = join(lab.root, 'logon-only.yaml');
  writeFileSync(playbook, 'name: logon-only\nsteps:\n  - uses: logon-check\n    with: { phase: before }\n');
  const done = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json']);
  expect(done.code, done.stderr).toBe(0);
  const runId = String(runEvents(done.stdout).find((e) => e.type === 'run')!['runId']);

  for (const command of ['resume', 'rollback']) {
    const r = await lab.cli([command, runId, '--json']);
    expect(r.code, command).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${command} writes and there is no terminal to ask on: add --yes`));
    expect(r.stdout).toBe('');
  }
  const undone = await lab.cli(['rollback', runId, '--yes', '--json']);
  expect(undone.code, undone.stderr).toBe(0);
  expect(runEvents(undone.stdout).at(-1)).toMatchObject({ type: 'run-end', exitCode: 0 });
  expect(await lab.snapshot()).toEqual(before);
});
