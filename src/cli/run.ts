// `run`, `plan`, `resume`, `rollback`, `runs`, `show`: the playbook commands. Thin: parse,
// choose the reporters, ask for confirmation, call the playbook layer, print, set the exit code.
import { existsSync, readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { EXIT } from '../errors.js';
import { planPlaybook, resumeRun, rollbackRun, runPlaybook, type ExecuteResult, type PlanDoc } from '../cutover/execute.js';
import { Reporters, type Reporter } from '../runner/events.js';
import { readJournal } from '../runner/journal.js';
import { buildReport, type RunReport } from '../report/run-report.js';
import { JsonLinesReporter } from '../runner/reporters/json-lines.js';
import { ListrReporter } from '../runner/reporters/listr.js';
import { PlainReporter } from '../runner/reporters/plain.js';
import { findRunDir, journalPath, listRunIds, reportPath } from '../runner/run-dir.js';
import { confirm, confirmWrite, isInteractive, requireYesWithoutTerminal } from './input.js';
import { formatPlan, formatReport } from './run-format.js';
import { StopRequests, type StopSignal } from './stop-requests.js';

type SetCode = (code: number) => void;

/** Given as --no-logon-check: the only way to change bindings on an inventory without a canary. */
const LOGON_CHECK_OPTION = {
  type: 'boolean',
  default: true,
  describe: '--no-logon-check: go on although the inventory has no canary user, so no logon proves users can still log on after the bindings change',
} as const;
const DEFAULT_PLAYBOOK_INVENTORY = 'inventory.yaml';
const BREAK_LOCK = {
  type: 'boolean', default: false,
  describe: 'remove another run\'s lock on the appliances (/nsconfig/ssl/adc-cutover.lock): only when you know that run is no longer working on the estate',
} as const;

/** What `resume` and `rollback` take: a run from the journal, and how to go on with it. */
function journalOptions(y: Argv) {
  return y.positional('run-id', { type: 'string', describe: 'the run, as adc-cutover runs lists it' })
    .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation (needed without a terminal)' })
    .option('json', { type: 'boolean', describe: 'JSON lines of events on stdout' }).option('junit', { type: 'string', describe: 'write a JUnit report' })
    .option('break-lock', BREAK_LOCK);
}

export function registerRun(cli: Argv, setCode: SetCode): void {
  cli
    .command('run <playbook>', 'run a playbook (e.g. playbooks/otp-cert-cutover.yaml) against an inventory', (y) =>
      common(y).option('dry-run', { type: 'boolean', default: false, describe: 'every read and the plan; no write anywhere' })
        .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation' })
        .option('junit', { type: 'string', describe: 'write a JUnit report (one test case per step × appliance)' })
        .option('set', { type: 'string', array: true, default: [], describe: 'override a playbook parameter: --set mode=swap' })
        .option('expect-plan', { type: 'string', describe: 'refuse unless the live plan has this hash (from adc-cutover plan)' })
        .option('logon-check', LOGON_CHECK_OPTION)
        .option('break-lock', BREAK_LOCK)
        .example('$0 run playbooks/otp-cert-cutover.yaml -i inventory.yaml', 'the cutover: the plan is shown and confirmed at the terminal before the first write')
        .example('$0 run playbooks/otp-cert-cutover.yaml -i inventory.yaml --yes --json --expect-plan 3f2a9c0d1e4b5a67', 'from a pipeline: only if the plan is the one reviewed; JSON lines of events'),
    async (argv) => {
      if (!argv['dry-run']) requireYesWithoutTerminal(argv.yes, 'run');
      const { reporter, signal, done } = session(argv.json === true);
      try {
        const result = await runPlaybook({
          playbook: argv.playbook as string, inventory: argv.inventory, sets: argv.set as string[], dryRun: argv['dry-run'],
          reporter, signal, junit: argv.junit, expectPlan: argv['expect-plan'], noLogonCheck: argv['logon-check'] === false, breakLock: argv['break-lock'],
          onPlan: (plan) => { if (!argv.json) process.stderr.write(formatPlan(plan)); },
          confirm: argv.yes || !isInteractive() ? undefined : (plan) => confirm(`Apply this plan (${plan.hash}) to ${plan.appliances.length} appliance(s) and the directory?`),
        });
        setCode(finish(result, argv.json === true));
      } finally {
        await done();
      }
    })
    .command('plan <playbook>', 'read-only: census, current state, what a run would change, and the plan hash', (y) =>
      common(y).option('set', { type: 'string', array: true, default: [], describe: 'override a playbook parameter: --set mode=swap' }).option('logon-check', LOGON_CHECK_OPTION)
        .example('$0 plan playbooks/otp-cert-cutover.yaml -i inventory.yaml', 'census, live state, what a run would change, and the plan hash')
        .example('$0 plan playbooks/otp-cert-cutover.yaml -i inventory.yaml --json', 'the same as JSON, for review or for run --expect-plan'),
    async (argv) => {
      const plan = await planPlaybook(argv.playbook as string, argv.inventory, argv.set as string[], true, argv['logon-check'] === false);
      process.stdout.write(argv.json ? `${JSON.stringify(plan)}\n` : formatPlan(plan));
    })
    .command('resume <run-id>', 'continue an interrupted run from its journal', (y) => journalOptions(y)
      .example('$0 resume 20261201T220000Z-a1b2c3', 'continue where the run stopped, asking first')
      .example('$0 resume 20261201T220000Z-a1b2c3 --yes --json', 'from a script'),
    async (argv) => {
      await confirmWrite(argv.yes, `Continue run ${argv['run-id'] as string} where it stopped?`, 'resume');
      const { reporter, signal, done } = session(argv.json === true, argv['run-id'] as string);
      try {
        setCode(finish(await resumeRun(argv['run-id'] as string, { reporter, signal, junit: argv.junit, breakLock: argv['break-lock'] }), argv.json === true));
      } finally {
        await done();
      }
    })
    .command('rollback <run-id>', 'undo a failed, interrupted or finished run', (y) => journalOptions(y)
      .example('$0 rollback 20261201T220000Z-a1b2c3', 'undo every change of that run, asking first')
      .example('$0 rollback 20261201T220000Z-a1b2c3 --yes --json', 'from a script'),
    async (argv) => {
      const runId = argv['run-id'] as string;
      findRunDir(runId);
      await confirmWrite(argv.yes, `Undo every change of run ${runId}?`, 'rollback');
      const { reporter, signal, done } = session(argv.json === true, runId);
      try {
        setCode(finish(await rollbackRun(runId, { reporter, signal, junit: argv.junit, breakLock: argv['break-lock'] }), argv.json === true));
      } finally {
        await done();
      }
    })
    .command('runs', 'list the runs in the journal directory', (y) => y.option('json', { type: 'boolean', describe: 'print JSON' })
      .example('$0 runs', 'run ids, status and playbook, oldest first')
      .example('$0 runs --json', 'the same as JSON'), (argv) => {
      const rows = listRunIds().map((id) => reportOf(id));
      if (argv.json) process.stdout.write(`${JSON.stringify(rows.map((r) => ({ runId: r.runId, status: r.status, exitCode: r.exitCode ?? null, startedAt: r.startedAt, playbook: r.playbook, inventory: r.inventory, dryRun: r.dryRun })))}\n`);
      else process.stdout.write(rows.length ? rows.map((r) => `${r.runId}  ${r.status.padEnd(19)} ${r.dryRun ? '(dry run) ' : ''}${r.playbook}`).join('\n') + '\n' : 'no runs yet\n');
    })
    .command('show <run-id>', 'explain a run in plain words', (y) => y.positional('run-id', { type: 'string', describe: 'the run, as adc-cutover runs lists it' }).option('json', { type: 'boolean', describe: 'print the report as JSON' })
      .option('html', { type: 'boolean', describe: 'print the path of the HTML change record' })
      .example('$0 show 20261201T220000Z-a1b2c3', 'what the run did, step by step, and what to do now')
      .example('$0 show 20261201T220000Z-a1b2c3 --html', 'the HTML change record to attach to the change ticket'),
    (argv) => {
      const r = reportOf(argv['run-id'] as string);
      if (argv.html) {
        const html = `${findRunDir(r.runId)}/report.html`;
        process.stdout.write(existsSync(html) ? `${html}\n` : `no HTML report for ${r.runId}\n`);
        return;
      }
      process.stdout.write(argv.json ? `${JSON.stringify(r)}\n` : formatReport(r));
    });
}

function common<T>(y: Argv<T>) {
  return y.positional('playbook', { type: 'string', describe: 'playbook YAML file' })
    .option('inventory', { alias: 'i', type: 'string', default: DEFAULT_PLAYBOOK_INVENTORY, describe: 'inventory YAML file' })
    .option('json', { type: 'boolean', describe: 'JSON lines of events on stdout' });
}

function reportOf(runId: string): RunReport {
  const dir = findRunDir(runId);
  const path = reportPath(dir);
  // report.json is written at the end of a run; a run killed before that is read from its journal.
  if (existsSync(path)) {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as RunReport;
    const live = buildReport(readJournal(journalPath(dir)));
    // A `rollback` stopped half-way wrote no report: the journal says more than the saved one.
    return live.attempts > saved.attempts || (live.status !== saved.status && saved.status === 'running') || live.rollbackUnfinished === true ? live : saved;
  }
  return buildReport(readJournal(journalPath(dir)));
}

/** Reporters for this terminal or pipe, and Ctrl-C handling: first stops safely, second forces. */
function session(json: boolean, knownRunId?: string): { reporter: Reporter; signal: AbortSignal; done: () => Promise<void> } {
  const ac = new AbortController();
  const inner = new Reporters(json ? [new JsonLinesReporter()] : process.stderr.isTTY && process.env['CI'] !== 'true' ? [new ListrReporter()] : [new PlainReporter()]);
  // What a forced stop must say: which run, and whether a rollback of it was under way.
  let runId = knownRunId;
  let rollingBack = false;
  const reporter: Reporter = {
    event: (ev) => {
      if (ev.type === 'run') runId = ev.runId;
      else if (ev.type === 'rollback-start') rollingBack = true;
      else if (ev.type === 'rollback-end' || ev.type === 'run-end') rollingBack = false;
      inner.event(ev);
    },
    close: () => inner.close(),
  };
  const stops = new StopRequests();
  const onSignal = (sig: StopSignal) => {
    const verdict = stops.receive(sig);
    if (verdict === 'safe-stop') {
      process.stderr.write('\nadc-cutover: stopping after the current write (Ctrl-C again to stop at once; the journal is kept)\n');
      ac.abort();
    } else if (verdict === 'force') {
      process.stderr.write(`\n${forcedStopWords(runId, rollingBack)}\n`);
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    reporter,
    signal: ac.signal,
    done: async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await reporter.close();
    },
  };
}

function forcedStopWords(runId: string | undefined, rollingBack: boolean): string {
  if (!runId) return 'adc-cutover: stopped at once, before the run started: no change was made (a lock it may have taken on an appliance is named by the next run: --break-lock removes it)';
  if (rollingBack) return `adc-cutover: stopped at once in the middle of the rollback of run ${runId}: only 'adc-cutover rollback ${runId}' may finish it (resume is refused once a rollback has started)`;
  return `adc-cutover: stopped at once; the journal of run ${runId} is kept: 'adc-cutover resume ${runId}' goes on, 'adc-cutover rollback ${runId}' undoes it`;
}

function finish(r: ExecuteResult, json: boolean): number {
  if (!json) process.stderr.write(formatReport(r.report));
  for (const w of r.warnings) process.stderr.write(`adc-cutover: warning: ${w}\n`);
  return r.exitCode;
}

export type { PlanDoc };
