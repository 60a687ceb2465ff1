// Benchmark (not a test): a whole cutover's own time. The shipped playbook runs, as a user runs
// it (the built CLI, --yes --json), on a lab of N users and K appliances; its report.json splits
// each step's time into the wait for a fresh TOTP step (the logon checks' pace, set by the
// gateway's 30-s step, not by us) and the rest — the tool's own time, which the goal is about.
// Each run is rolled back before the next, so every run starts from the same estate.
//   npm run bench:cutover -- [--users 10000] [--appliances 3] [--runs 3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDown, labUp } from '../src/lab/lab.js';
import type { RunReport } from '../src/report/run-report.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a whole number above 0`);
  return v;
}

const users = arg('users', 10_000);
const appliances = arg('appliances', 3);
const runs = arg('runs', 3);
const here = fileURLToPath(new URL('.', import.meta.url));
const cli = join(here, '..', 'src', 'cli', 'main.js');
const playbook = join(here, '..', '..', 'playbooks', 'otp-cert-cutover.yaml');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function adc(args: string[], home: string, cwd: string): { code: number | null; stdout: string; ms: number; startedAt: number } {
  const startedAt = Date.now();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, env: { ...process.env, ADC_CUTOVER_HOME: home, CI: 'true' }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, ms: performance.now() - t0, startedAt };
}

/** The stretches of a run outside its steps, from the journal's timestamps (ms). */
function outsideSteps(stdout: string, wholeStart: number, wholeMs: number): Record<string, number> {
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; t: string });
  const at = (type: string, last = false) => {
    const list = events.filter((e) => e.type === type);
    const e = last ? list[list.length - 1] : list[0];
    return e ? Date.parse(e.t) : NaN;
  };
  const exit = wholeStart + wholeMs;
  return {
    'start-up (to the run record)': at('run') - wholeStart,
    'plan (reads every appliance and the directory)': at('step-start') - at('run'),
    'end-of-run no-lockout check': at('invariant') - at('step-end', true),
    'report and exit': exit - at('invariant'),
  };
}

function runIdOf(stdout: string): string {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { type?: string; runId?: string };
    if (e.type === 'run' && e.runId) return e.runId;
  }
  throw new Error('the run printed no run record');
}

const root = mkdtempSync(join(tmpdir(), 'adc-bench-cutover-'));
const labDir = join(root, 'lab');
try {
  const t0 = performance.now();
  const lab = await labUp({ dir: labDir, users, appliances });
  console.log(`lab: ${users.toLocaleString('en-US')} users, ${appliances} appliances, up in ${seconds(performance.now() - t0)}`);
  const perStep = new Map<string, { own: number[]; wait: number[] }>();
  const totals: { whole: number; own: number; wait: number; outside: number }[] = [];
  const outside = new Map<string, number[]>();
  for (let i = 0; i < runs; i++) {
    const home = join(root, `home-${i}`);
    const r = adc(['run', playbook, '-i', lab.inventory, '--yes', '--json'], home, root);
    if (r.code !== 0) throw new Error(`run ${i + 1} exited ${r.code}`);
    const runId = runIdOf(r.stdout);
    const report = JSON.parse(readFileSync(join(home, 'runs', runId, 'report.json'), 'utf8')) as RunReport;
    let wait = 0;
    let inSteps = 0;
    for (const s of report.steps) {
      inSteps += s.durationMs ?? 0;
      const w = s.totpWaitMs ?? 0;
      wait += w;
      const row = perStep.get(s.id) ?? { own: [], wait: [] };
      row.own.push((s.durationMs ?? 0) - w);
      row.wait.push(w);
      perStep.set(s.id, row);
    }
    totals.push({ whole: r.ms, own: r.ms - wait, wait, outside: r.ms - inSteps });
    for (const [k, v] of Object.entries(outsideSteps(r.stdout, r.startedAt, r.ms))) outside.set(k, [...(outside.get(k) ?? []), v]);
    console.log(`run ${i + 1}: whole command ${seconds(r.ms)}, of which TOTP waits ${seconds(wait)}, own ${seconds(r.ms - wait)}`);
    const undo = adc(['rollback', runId, '--yes', '--json'], home, root);
    if (undo.code !== 0) throw new Error(`rollback of run ${i + 1} exited ${undo.code}`);
  }
  console.log('\nper step, median of the runs (own time = step time − TOTP waits):');
  for (const [id, row] of perStep) console.log(`  ${id.padEnd(18)} own ${seconds(median(row.own)).padStart(9)}   TOTP wait ${seconds(median(row.wait)).padStart(9)}`);
  console.log(`  ${'(outside steps)'.padEnd(18)} own ${seconds(median(totals.map((t) => t.outside))).padStart(9)}, of which:`);
  for (const [k, v] of outside) console.log(`    ${k}: ${seconds(median(v))}`);
  console.log('    (after an unbind, the end-of-run check first lets registrations the gateways began under the unbound key finish: the longest LDAP authtimeout from the unbind)');
  const own = median(totals.map((t) => t.own));
  console.log(
    `\nwhole cutover (command start to exit, start-up and end-of-run checks included), median of ${runs}: ${seconds(median(totals.map((t) => t.whole)))}; own time ${seconds(own)} (goal: under 10 s) ${own < 10_000 ? 'MET' : 'NOT MET'}`,
  );
  await labDown(labDir);
} finally {
  rmSync(root, { recursive: true, force: true });
}
