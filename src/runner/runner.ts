// Runs steps in order with a write-ahead journal; on failure rolls back every started step in
// reverse order of start; on interruption stops after the current write and keeps the journal.
import { hostname, userInfo } from 'node:os';
import { AdcError, EXIT, errorCodes, errorMessage, mergeCodes, type ExitCode } from '../errors.js';
import type { Reporter } from './events.js';
import { changeRecords, Journal, readJournal, type JournalRecord, type RunStatus, type Stamped } from './journal.js';
import { JOURNAL_FORMAT } from './journal-format.js';
import type { JsonObject } from './json.js';
import { redact } from './redact.js';
import type { ChangeRecord, RollbackResult, SafetyCheck, SafetyVerdict, Step, StepContext, StepJournal, TargetResult } from './step.js';

export interface RunMeta {
  runId: string;
  runDir: string;
  playbook: string;
  inventory: string;
  params: JsonObject;
  planHash: string;
  dryRun: boolean;
  /** The plan the operator approved, kept in the journal for the report. */
  plan?: JsonObject;
  /** sha256 of the run's input files (src/cutover/input-hashes.ts), for resume to check. */
  inputs?: JsonObject;
  /** Said before the first step (locks taken over or broken, inputs not checked): journaled notes. */
  notes?: { target: string; message: string }[];
}

export interface RunOutcome {
  status: RunStatus;
  exitCode: number;
  message?: string;
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

export class Runner {
  private readonly journal: Journal;
  private readonly prior: Stamped[];

  constructor(
    private readonly meta: RunMeta,
    private readonly steps: Step[],
    private readonly reporter: Reporter,
    private readonly signal: AbortSignal,
    /** The no-lockout check run before every report of a run that may have changed something. */
    private readonly safety?: SafetyCheck,
  ) {
    this.prior = readJournal(`${meta.runDir}/events.jsonl`, { missingOk: true });
    this.journal = Journal.open(`${meta.runDir}/events.jsonl`);
  }

  /** Runs (or, when the journal has records, resumes) the steps. */
  async run(): Promise<RunOutcome> {
    const attempt = 1 + this.prior.filter((r) => r.type === 'run').length;
    this.record({ type: 'run', format: JOURNAL_FORMAT, ...this.metaRecord(), attempt });
    if (this.meta.plan) this.record({ type: 'plan', planHash: this.meta.planHash, plan: this.meta.plan });
    this.recordNotes();
    const finished = new Set(this.prior.flatMap((r) => (r.type === 'step-end' && r.status !== 'failed' ? [r.step] : [])));
    const started: Step[] = this.steps.filter((s) => this.prior.some((r) => r.type === 'step-start' && r.step === s.id));
    for (const step of this.steps) {
      if (finished.has(step.id) && !step.rerunOnResume) continue;
      if (this.signal.aborted) return this.checkedEnd('run', 'interrupted', EXIT.interrupted, interruptedMessage(this.meta.runId));
      if (!started.includes(step)) started.push(step);
      const t0 = Date.now();
      this.record({ type: 'step-start', step: step.id, kind: step.kind, title: step.title });
      try {
        const ctx = this.context(step);
        const results = this.meta.dryRun ? await dryRunOf(step, ctx) : await step.apply(ctx);
        for (const r of results) this.record({ type: 'target', step: step.id, ...r });
        if (this.signal.aborted) throw new Interrupted();
        if (!this.meta.dryRun) await step.verify?.(ctx);
        const failed = results.filter((r) => r.status === 'failed');
        if (failed.length)
          throw new AdcError(failed.map((f) => (f.message.startsWith(`${f.target}:`) ? f.message : `${f.target}: ${f.message}`)).join('; '), EXIT.failedRolledBack, {
            codes: mergeCodes(failed.map((f) => f.codes)),
          });
        this.record({ type: 'step-end', step: step.id, status: results.every((r) => r.status === 'skipped') && results.length ? 'skipped' : 'ok', durationMs: Date.now() - t0 });
      } catch (err) {
        if (err instanceof Interrupted || (this.signal.aborted && isAbort(err))) {
          this.record({ type: 'step-end', step: step.id, status: 'failed', error: 'interrupted', durationMs: Date.now() - t0 });
          return this.checkedEnd('run', 'interrupted', EXIT.interrupted, interruptedMessage(this.meta.runId));
        }
        const message = `${step.title}: ${errorMessage(err)}`;
        const codes = errorCodes(err);
        this.record({ type: 'step-end', step: step.id, status: 'failed', error: message, ...(codes ? { codes } : {}), durationMs: Date.now() - t0 });
        const complete = await this.rollbackSteps(started, message);
        return complete
          ? this.checkedEnd('rollback', 'rolled-back', EXIT.failedRolledBack, `${message} — every change of this run was rolled back`)
          : this.checkedEnd('rollback', 'rollback-incomplete', EXIT.rollbackIncomplete, `${message} — the rollback is incomplete: see the report for what a person must do`);
      }
    }
    return this.checkedEnd('run', 'succeeded', EXIT.ok);
  }

  /** Undoes a failed, interrupted or finished run from its journal. */
  async rollbackAll(reason: string): Promise<RunOutcome> {
    const startedIds = new Set(this.prior.flatMap((r) => (r.type === 'step-start' ? [r.step] : [])));
    this.recordNotes();
    const complete = await this.rollbackSteps(
      this.steps.filter((s) => startedIds.has(s.id)),
      reason,
    );
    return complete
      ? this.checkedEnd('rollback', 'rolled-back', EXIT.ok, 'every change of this run was rolled back')
      : this.checkedEnd('rollback', 'rollback-incomplete', EXIT.rollbackIncomplete, 'the rollback is incomplete: see the report for what a person must do');
  }

  /**
   * The last word before the run reports: the no-lockout invariant, read live. A state that
   * breaks it is never reported as success or as a clean rollback: exit 3 naming the users and
   * the key, or 4 when only appliances the failure budget left out are concerned.
   */
  private async checkedEnd(phase: 'run' | 'rollback', status: RunStatus, exitCode: number, message?: string): Promise<RunOutcome> {
    // Nothing changed by this run (refused at preflight, say): there is nothing of ours to judge.
    const changed = [...this.prior, ...this.journalSoFar].some((r) => r.type === 'intent');
    if (!this.safety || this.meta.dryRun || !changed) return this.end(status, exitCode, message);
    let v: SafetyVerdict;
    try {
      v = await this.safety(this.safetyContext(), phase);
    } catch (err) {
      v = { holds: false, leftOutOnly: false, message: `the check that every user can still log on failed: ${errorMessage(err)}` };
    }
    this.record({ type: 'invariant', phase, holds: v.holds, leftOutOnly: v.leftOutOnly, message: redact(v.message) });
    if (v.holds) return this.end(status, exitCode, message);
    if (v.leftOutOnly && status === 'succeeded') {
      return this.end('left-out', EXIT.doneWithLeftOut, `done, with appliances left out within the failure budget: ${v.message}`);
    }
    const so = `users cannot log on: ${v.message}`;
    if (status === 'succeeded') return this.end('locked-out', EXIT.rollbackIncomplete, `every step finished, but ${so}`);
    if (status === 'rolled-back') return this.end('rollback-incomplete', EXIT.rollbackIncomplete, `the rollback ran, but ${so}`);
    return this.end(status, EXIT.rollbackIncomplete, `${message ? `${message}; ` : ''}${so}`);
  }

  private async rollbackSteps(started: Step[], reason: string): Promise<boolean> {
    this.record({ type: 'rollback-start', format: JOURNAL_FORMAT, reason });
    const all = changeRecords([...this.prior, ...this.journalSoFar]);
    let complete = true;
    // Reverse order of start: a later step's change may depend on an earlier one's.
    for (const step of [...started].reverse()) {
      const records = all.filter((c) => c.step === step.id && !c.rolledBackBefore);
      if (records.length === 0) continue;
      let results: RollbackResult[];
      try {
        results = await step.rollback(this.context(step, /* rollback */ true), [...records].reverse());
      } catch (err) {
        results = [{ target: step.id, status: 'failed', message: errorMessage(err) }];
      }
      for (const r of results) {
        const rec = records.find((c) => c.id === r.id) ?? records.find((c) => c.target === r.target);
        this.record(undoRecord(rec?.id ?? 0, step, r));
        if (r.status === 'failed') complete = false;
      }
    }
    for (const step of started) {
      if (!step.afterRollback) continue;
      // Not what an earlier, complete rollback already settled: a later run may have changed
      // things since, and a check of those records would take its changes back. An incomplete
      // earlier rollback is finished now, so its records (and the save after them) count again.
      const records = all.filter((c) => c.step === step.id && !c.rolledBackBefore);
      if (records.length === 0) continue;
      const results: RollbackResult[] = await step
        .afterRollback(this.context(step, true), records)
        .catch((err: unknown) => [{ target: step.id, status: 'failed' as const, message: errorMessage(err) }]);
      for (const r of results) {
        this.record(undoRecord(r.id ?? 0, step, r));
        if (r.status === 'failed') complete = false;
      }
    }
    this.record({ type: 'rollback-end', status: complete ? 'complete' : 'incomplete' });
    return complete;
  }

  private journalSoFar: Stamped[] = [];

  private record(rec: JournalRecord): void {
    let stamped: Stamped;
    try {
      stamped = this.journal.append(rec);
    } catch (err) {
      throw this.journalFailure(err, rec);
    }
    this.journalSoFar.push(stamped);
    this.reporter.event(stamped);
  }

  /**
   * The journal cannot be written (disk full, I/O error): stop at once. Nothing more may change
   * without its record (write-ahead), a rollback included. The exit code says where that left
   * things: the run's own end if only its last record was lost; 2 if nothing had changed yet;
   * otherwise 3 (a person must act: free space, then roll back from what the journal holds).
   */
  private journalFailure(err: unknown, rec: JournalRecord): AdcError {
    if (err instanceof AdcError) return err;
    const why = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    const so = [...this.prior, ...this.journalSoFar];
    const cannot = `the run journal ${this.journal.path} cannot be written (${why})`;
    const finish = `free space, then 'adc-cutover rollback ${this.meta.runId}'`;
    if (rec.type === 'run-end') {
      return new AdcError(`${rec.message ?? `run ${rec.status}`} — but ${cannot}, so its end is not recorded`, rec.exitCode as ExitCode, { cause: err });
    }
    if (this.journalSoFar.some((r) => r.type === 'rollback-start')) {
      return new AdcError(`${cannot}: the rollback stopped at once, as far as the journal shows; ${finish} finishes it`, EXIT.rollbackIncomplete, { cause: err });
    }
    if (so.some((r) => r.type === 'intent')) {
      return new AdcError(
        `${cannot}: the run stopped at once and nothing was rolled back (a rollback must be journaled too). The changes it made are recorded up to that point: ${finish} undoes them (or 'adc-cutover resume ${this.meta.runId}' goes on)`,
        EXIT.rollbackIncomplete,
        { cause: err },
      );
    }
    return new AdcError(`${cannot}: nothing was changed`, EXIT.invalidInput, { cause: err });
  }

  private end(status: RunStatus, exitCode: number, message?: string): RunOutcome {
    this.record({ type: 'run-end', status, exitCode, ...(message ? { message: redact(message) } : {}) });
    this.journal.close();
    return { status, exitCode, message };
  }

  private metaRecord() {
    const { runId, playbook, inventory, params, planHash, dryRun, inputs } = this.meta;
    return { runId, playbook, inventory, params, planHash, dryRun, user: userName(), host: hostname(), ...(inputs ? { inputs } : {}) };
  }

  private recordNotes(): void {
    for (const n of this.meta.notes ?? []) this.record({ type: 'note', target: n.target, level: 'warn', message: n.message });
  }

  /** The check's own context: it may re-encrypt (journaled as notes), and must run to its end. */
  private safetyContext(): StepContext {
    const refuse = async (): Promise<never> => {
      throw new AdcError('internal: the safety check does not journal changes of its own', EXIT.rollbackIncomplete);
    };
    return {
      runId: this.meta.runId,
      runDir: this.meta.runDir,
      dryRun: false,
      signal: new AbortController().signal,
      journal: { intent: refuse, done: refuse, outcomeUnknown: refuse, writeSent: refuse, records: () => [] },
      progress: (target, p) => this.reporter.event({ type: 'progress', step: 'invariant', target, t: new Date().toISOString(), ...p }),
      note: (target, message, level = 'info') => this.record({ type: 'note', target, level, message }),
    };
  }

  private context(step: Step, rollingBack = false): StepContext {
    const journal: StepJournal = {
      intent: async (target, action, data) => {
        const id = this.journal.newIntentId();
        this.record({ type: 'intent', id, step: step.id, target, action, data });
        return id;
      },
      done: async (id, data = {}) => {
        this.record({ type: 'done', id, data });
      },
      outcomeUnknown: async (id, message) => {
        this.record({ type: 'outcome-unknown', id, message: redact(message) });
      },
      writeSent: async (id) => {
        this.record({ type: 'write-sent', id });
      },
      records: (): ChangeRecord[] => changeRecords([...this.prior, ...this.journalSoFar]).filter((c) => c.step === step.id),
    };
    return {
      runId: this.meta.runId,
      runDir: this.meta.runDir,
      dryRun: this.meta.dryRun,
      // A rollback must run to the end even after Ctrl-C: stopping halfway would be worse.
      signal: rollingBack ? new AbortController().signal : this.signal,
      journal,
      progress: (target, p) => this.reporter.event({ type: 'progress', step: step.id, target, t: new Date().toISOString(), ...p }),
      note: (target, message, level = 'info') => this.record({ type: 'note', step: step.id, target, level, message }),
    };
  }
}

async function dryRunOf(step: Step, ctx: StepContext): Promise<TargetResult[]> {
  if (step.dryRun) return step.dryRun(ctx);
  const plan = await step.plan(ctx);
  if (plan.changes.length === 0) return [{ target: step.targets()[0] ?? step.id, status: 'skipped', message: plan.skipReason ?? 'dry run: nothing to change' }];
  return plan.changes.map((c) => ({ target: c.target, status: 'skipped', message: `dry run, would: ${c.description}` }));
}

/** The journal's record of one undo: the words, and the facts a reader acts on in their own fields. */
function undoRecord(id: number, step: Step, r: RollbackResult): JournalRecord {
  return {
    type: 'undo',
    id,
    step: step.id,
    target: r.target,
    status: r.status,
    message: r.message,
    ...(r.ms !== undefined ? { ms: r.ms } : {}),
    ...(r.bound ? { bound: r.bound } : {}),
    ...(r.certkeyDeleted ? { certkeyDeleted: r.certkeyDeleted } : {}),
    ...(r.codes ? { codes: r.codes } : {}),
  };
}

/**
 * An operation stopped because its signal fired: an AbortError, told by its name or by Node's code
 * ABORT_ERR (src/http/request.ts rejects an aborted request with both).
 */
function isAbort(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR';
}

function interruptedMessage(runId: string): string {
  return `interrupted; the journal is kept. Continue with 'adc-cutover resume ${runId}' or undo with 'adc-cutover rollback ${runId}'`;
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}
