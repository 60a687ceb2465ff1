// What `runs` and `show` print: the reports of the runs in the journal directory. Loaded when one
// of them runs (run.ts holds their flags); they read files and need none of the playbook layer.
import { existsSync, readFileSync } from 'node:fs';
import { readJournal } from '../runner/journal.js';
import { buildReport, type RunReport } from '../report/run-report.js';
import { findRunDir, journalPath, listRunIds, reportPath } from '../runner/run-dir.js';
import { formatReport } from './run-format.js';

export function runs(argv: { json?: boolean }): void {
  const rows = listRunIds().map((id) => reportOf(id));
  if (argv.json)
    process.stdout.write(
      `${JSON.stringify(rows.map((r) => ({ runId: r.runId, status: r.status, exitCode: r.exitCode ?? null, startedAt: r.startedAt, playbook: r.playbook, inventory: r.inventory, dryRun: r.dryRun })))}\n`,
    );
  else process.stdout.write(rows.length ? rows.map((r) => `${r.runId}  ${r.status.padEnd(19)} ${r.dryRun ? '(dry run) ' : ''}${r.playbook}`).join('\n') + '\n' : 'no runs yet\n');
}

export function show(argv: { 'run-id'?: string; json?: boolean; html?: boolean }): void {
  const r = reportOf(argv['run-id'] as string);
  if (argv.html) {
    const html = `${findRunDir(r.runId)}/report.html`;
    process.stdout.write(existsSync(html) ? `${html}\n` : `no HTML report for ${r.runId}\n`);
    return;
  }
  process.stdout.write(argv.json ? `${JSON.stringify(r)}\n` : formatReport(r));
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
