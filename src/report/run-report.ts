// report.json: the journal folded into what an operator, a change board or a CI job wants to
// know — per step and per target: status, timings, what changed, what was rolled back.
import { writeFileSync } from 'node:fs';
import type { ErrorCodes } from '../errors.js';
import type { JsonObject } from '../runner/json.js';
import type { RunStatus, Stamped } from '../runner/journal.js';
import type { RollbackResult, TargetResult } from '../runner/step.js';

/**
 * One target's outcome, as the step gave it (TargetResult); the status is text, since reports of
 * other versions are read too.
 */
export type TargetReport = Omit<TargetResult, 'status'> & { status: string };

/** One undo, as the step gave it (RollbackResult), and when it was journaled (`at`). */
export type UndoReport = Omit<RollbackResult, 'id' | 'status' | 'settled'> & { status: string; at: string };

export interface StepReport {
  id: string;
  kind: string;
  title: string;
  status: 'ok' | 'failed' | 'skipped' | 'running' | 'not-run';
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /**
   * Of durationMs, the longest wait of any target for a fresh TOTP step (logon checks: targets
   * run side by side, so the longest is what the step waited), and what is left: the tool's own time.
   */
  totpWaitMs?: number;
  ownMs?: number;
  error?: string;
  /** The failure's codes, when the step failed with any. */
  errorCodes?: ErrorCodes;
  targets: TargetReport[];
  /** `outcomeUnknown`: the write got no reply and had not shown when the step gave up on it. */
  changes: { id: number; target: string; action: string; data: JsonObject; done: boolean; outcomeUnknown?: boolean }[];
  rollback: UndoReport[];
  notes: { target: string; level: string; message: string }[];
}

export interface RunReport {
  runId: string;
  status: RunStatus | 'running';
  exitCode?: number;
  message?: string;
  playbook: string;
  inventory: string;
  planHash: string;
  dryRun: boolean;
  user: string;
  host: string;
  startedAt: string;
  endedAt?: string;
  attempts: number;
  plan?: JsonObject;
  steps: StepReport[];
  /**
   * The last check of the no-lockout invariant (every device readable by a key bound on every
   * appliance), as the run read it before it reported.
   */
  invariant?: { phase: 'run' | 'rollback'; holds: boolean; leftOutOnly: boolean; message: string; at: string };
  /** What a person must do when the rollback was incomplete. */
  actionsRequired: string[];
  /** Notes on the run as a whole (locks taken over, inputs that could not be checked). */
  notes?: { target: string; level: string; message: string }[];
  /**
   * A rollback of this run started and has not ended (it is still going, or its process was
   * stopped): only `rollback` may go on with the run.
   */
  rollbackUnfinished?: boolean;
}

export function buildReport(records: Stamped[], stepOrder: { id: string; kind: string; title: string }[] = []): RunReport {
  const run = records.find((r) => r.type === 'run');
  const lastRun = [...records].reverse().find((r) => r.type === 'run');
  const end = [...records].reverse().find((r) => r.type === 'run-end');
  const steps = new Map<string, StepReport>();
  const stepOf = (id: string, kind = '', title = id): StepReport => {
    let s = steps.get(id);
    if (!s) {
      s = { id, kind, title, status: 'not-run', targets: [], changes: [], rollback: [], notes: [] };
      steps.set(id, s);
    }
    return s;
  };
  for (const s of stepOrder) stepOf(s.id, s.kind, s.title);
  const intents = new Map<number, StepReport['changes'][number]>();
  const runNotes: NonNullable<RunReport['notes']> = [];
  for (const r of records) {
    switch (r.type) {
      case 'step-start': {
        const s = stepOf(r.step, r.kind, r.title);
        Object.assign(s, { kind: r.kind, title: r.title, status: 'running', startedAt: r.t, error: undefined, errorCodes: undefined });
        s.targets = [];
        break;
      }
      case 'step-end':
        Object.assign(stepOf(r.step), { status: r.status, endedAt: r.t, durationMs: r.durationMs, ...(r.error ? { error: r.error } : {}), ...(r.codes ? { errorCodes: r.codes } : {}) });
        break;
      case 'target': {
        const { type: _t, step, t: _at, seq: _seq, ...result } = r;
        stepOf(step).targets.push(result);
        break;
      }
      case 'intent': {
        const c = { id: r.id, target: r.target, action: r.action, data: r.data, done: false };
        intents.set(r.id, c);
        stepOf(r.step).changes.push(c);
        break;
      }
      case 'done': {
        const c = intents.get(r.id);
        if (c) {
          c.done = true;
          c.data = { ...c.data, ...r.data };
        }
        break;
      }
      case 'outcome-unknown': {
        const c = intents.get(r.id);
        if (c) c.outcomeUnknown = true;
        break;
      }
      case 'undo': {
        const { type: _t, id: _id, step, t, seq: _seq, ...undo } = r;
        stepOf(step).rollback.push({ ...undo, at: t });
        break;
      }
      case 'note':
        (r.step ? stepOf(r.step).notes : runNotes).push({ target: r.target, level: r.level, message: r.message });
        break;
      default:
        break;
    }
  }
  for (const s of steps.values()) {
    const waits = s.targets.map((t) => t.changed?.['totpWaitMs']).filter((w): w is number => typeof w === 'number');
    if (waits.length === 0 || s.durationMs === undefined) continue;
    s.totpWaitMs = Math.max(...waits);
    s.ownMs = Math.max(0, s.durationMs - s.totpWaitMs);
  }
  const actionsRequired = [...steps.values()].flatMap((s) => s.rollback.filter((u) => u.status === 'failed').map((u) => `${s.title} on ${u.target}: undo by hand — ${u.message}`));
  const check = [...records].reverse().find((r): r is Extract<Stamped, { type: 'invariant' }> => r.type === 'invariant');
  if (check && !check.holds) {
    actionsRequired.unshift(
      check.leftOutOnly
        ? `users already moved cannot log on through the appliances left out within the failure budget until they are fixed and the cutover run again: ${check.message}`
        : `users cannot log on: ${check.message}. Bind a key that reads them (or re-encrypt them under a bound key with 'adc-cutover directory rekey') before anything else`,
    );
  }
  const plan = [...records].reverse().find((r) => r.type === 'plan');
  const rollback = [...records].reverse().find((r) => r.type === 'rollback-start');
  // A `rollback` command writes no run record: its start, not the last run record, is what a
  // run-end must come after to be this run's present state.
  const since = Math.max(lastRun?.seq ?? 0, rollback?.seq ?? 0);
  const ended = end?.type === 'run-end' && end.seq > since;
  const rollbackUnfinished = rollback !== undefined && !records.some((r) => (r.type === 'rollback-end' || r.type === 'run-end') && r.seq > rollback.seq);
  const unfinishedMessage = rollback
    ? `a rollback of this run started at ${rollback.t} and has not ended (still going, or its process was stopped): only 'adc-cutover rollback ${run?.type === 'run' ? run.runId : '<run-id>'}' may go on with this run`
    : '';
  return {
    runId: run?.type === 'run' ? run.runId : 'unknown',
    status: ended ? end.status : 'running',
    ...(ended ? { exitCode: end.exitCode, ...(end.message ? { message: end.message } : {}) } : rollbackUnfinished ? { message: unfinishedMessage } : {}),
    playbook: run?.type === 'run' ? run.playbook : '',
    inventory: run?.type === 'run' ? run.inventory : '',
    planHash: lastRun?.type === 'run' ? lastRun.planHash : '',
    dryRun: run?.type === 'run' ? run.dryRun : false,
    user: run?.type === 'run' ? run.user : '',
    host: run?.type === 'run' ? run.host : '',
    startedAt: run?.t ?? '',
    ...(end ? { endedAt: end.t } : {}),
    attempts: records.filter((r) => r.type === 'run').length,
    ...(plan?.type === 'plan' ? { plan: plan.plan } : {}),
    steps: [...steps.values()],
    ...(check ? { invariant: { phase: check.phase, holds: check.holds, leftOutOnly: check.leftOutOnly, message: check.message, at: check.t } } : {}),
    actionsRequired,
    ...(runNotes.length ? { notes: runNotes } : {}),
    ...(rollbackUnfinished ? { rollbackUnfinished } : {}),
  };
}

export function writeReport(path: string, report: RunReport): void {
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n', { mode: 0o600 });
}
