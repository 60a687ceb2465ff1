// What `run`, `plan`, `resume` and `rollback` do once run.ts has parsed their flags: choose the
// reporters, ask for confirmation, call the playbook layer, print, and give the exit code. Loaded
// only when one of them runs: the playbook layer brings every step's clients (NITRO over HTTP,
// SSH, LDAP) and the crypto.
import { EXIT } from '../errors.js';
import { planPlaybook, resumeRun, rollbackRun, runPlaybook, type ExecuteResult } from '../cutover/execute.js';
import { Reporters, type Reporter } from '../runner/events.js';
import { JsonLinesReporter } from '../runner/reporters/json-lines.js';
import { PlainReporter } from '../runner/reporters/plain.js';
import { findRunDir } from '../runner/run-dir.js';
import { confirm, confirmWrite, isInteractive, requireYesWithoutTerminal } from './input.js';
import { formatPlan, formatReport } from './run-format.js';
import { StopRequests, type StopSignal } from './stop-requests.js';

/** The flags `run` and `plan` share (run.ts declares them). */
export interface PlaybookArgs {
  playbook?: string;
  inventory: string;
  set: (string | number)[];
  'logon-check': boolean;
  json?: boolean;
}

export interface RunArgs extends PlaybookArgs {
  'dry-run': boolean;
  yes: boolean;
  junit?: string;
  'expect-plan'?: string;
  'break-lock': boolean;
}

/** The flags of `resume` and `rollback`. */
export interface JournalArgs {
  'run-id'?: string;
  yes: boolean;
  json?: boolean;
  junit?: string;
  'break-lock': boolean;
}

export async function run(argv: RunArgs): Promise<number> {
  if (!argv['dry-run']) requireYesWithoutTerminal(argv.yes, 'run');
  const { reporter, signal, done } = await session(argv.json === true);
  try {
    const result = await runPlaybook({
      playbook: argv.playbook as string,
      inventory: argv.inventory,
      sets: argv.set as string[],
      dryRun: argv['dry-run'],
      reporter,
      signal,
      junit: argv.junit,
      expectPlan: argv['expect-plan'],
      noLogonCheck: argv['logon-check'] === false,
      breakLock: argv['break-lock'],
      onPlan: (plan) => {
        if (!argv.json) process.stderr.write(formatPlan(plan));
      },
      confirm: argv.yes || !isInteractive() ? undefined : (plan) => confirm(`Apply this plan (${plan.hash}) to ${plan.appliances.length} appliance(s) and the directory?`),
    });
    return finish(result, argv.json === true);
  } finally {
    await done();
  }
}

export async function plan(argv: PlaybookArgs): Promise<void> {
  const p = await planPlaybook(argv.playbook as string, argv.inventory, argv.set as string[], true, argv['logon-check'] === false);
  process.stdout.write(argv.json ? `${JSON.stringify(p)}\n` : formatPlan(p));
}

export async function resume(argv: JournalArgs): Promise<number> {
  await confirmWrite(argv.yes, `Continue run ${argv['run-id'] as string} where it stopped?`, 'resume');
  const { reporter, signal, done } = await session(argv.json === true, argv['run-id']);
  try {
    return finish(await resumeRun(argv['run-id'] as string, { reporter, signal, junit: argv.junit, breakLock: argv['break-lock'] }), argv.json === true);
  } finally {
    await done();
  }
}

export async function rollback(argv: JournalArgs): Promise<number> {
  const runId = argv['run-id'] as string;
  findRunDir(runId);
  await confirmWrite(argv.yes, `Undo every change of run ${runId}?`, 'rollback');
  const { reporter, signal, done } = await session(argv.json === true, runId);
  try {
    return finish(await rollbackRun(runId, { reporter, signal, junit: argv.junit, breakLock: argv['break-lock'] }), argv.json === true);
  } finally {
    await done();
  }
}

/** Reporters for this terminal or pipe, and Ctrl-C handling: first stops safely, second forces. */
async function session(json: boolean, knownRunId?: string): Promise<{ reporter: Reporter; signal: AbortSignal; done: () => Promise<void> }> {
  const ac = new AbortController();
  const inner = new Reporters([await reporterFor(json)]);
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

/**
 * JSON lines with --json, the live task list at a terminal, plain lines otherwise (a pipe, CI).
 * The task list's library is imported only when it is the one chosen.
 */
async function reporterFor(json: boolean): Promise<Reporter> {
  if (json) return new JsonLinesReporter();
  if (process.stderr.isTTY && process.env['CI'] !== 'true') return new (await import('../runner/reporters/listr.js')).ListrReporter();
  return new PlainReporter();
}

function forcedStopWords(runId: string | undefined, rollingBack: boolean): string {
  if (!runId) return 'adc-cutover: stopped at once, before the run started: no change was made (a lock it may have taken on an appliance is named by the next run: --break-lock removes it)';
  if (rollingBack)
    return `adc-cutover: stopped at once in the middle of the rollback of run ${runId}: only 'adc-cutover rollback ${runId}' may finish it (resume is refused once a rollback has started)`;
  return `adc-cutover: stopped at once; the journal of run ${runId} is kept: 'adc-cutover resume ${runId}' goes on, 'adc-cutover rollback ${runId}' undoes it`;
}

function finish(r: ExecuteResult, json: boolean): number {
  if (!json) process.stderr.write(formatReport(r.report));
  for (const w of r.warnings) process.stderr.write(`adc-cutover: warning: ${w}\n`);
  return r.exitCode;
}
