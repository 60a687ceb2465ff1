// The step contract. A step reads live state to plan, applies its change while journaling each
// intent before it acts (write-ahead), verifies, and can roll back exactly what this run did.
import type { ErrorCodes } from '../errors.js';
import type { JsonObject } from './json.js';

export interface PlannedChange {
  /** Appliance name, "directory", or a gateway URL. */
  target: string;
  /** What would change, in an operator's words. */
  description: string;
  /** Facts the plan hash covers (current state the change depends on). */
  facts?: JsonObject;
  /** The change in a few words, for the plan's list per appliance (absent: the description). */
  summary?: string;
  /** Nothing changes here (already done, or done by another step): left out of the list per appliance. */
  noChange?: boolean;
}

export interface StepPlan {
  changes: PlannedChange[];
  warnings: string[];
  /** Steps that change nothing in this run (already done, or not applicable) say why. */
  skipReason?: string;
}

/**
 * What the runner knows of any change, whatever its step: where it is in the journal and how
 * far it got. The change's own data is the step's vocabulary (src/steps/records.ts types it).
 */
export interface ChangeState {
  id: number;
  step: string;
  target: string;
  action: string;
  /** When the step gave up on a write that got no reply and had not shown: it may still land. */
  outcomeUnknownAt?: string;
  /** When its last write request was sent (absent: none was, as far as the journal knows). */
  writeSentAt?: string;
  /** Its step ended (ok or failed) after it; false: the process died inside the step. */
  stepEnded?: boolean;
  /** Undone by an earlier rollback that completed: a later run may have changed things since. */
  rolledBackBefore?: boolean;
  undone?: boolean;
  /** An earlier undo found the change made and took it back: the write has landed, it cannot land again. */
  reverted?: boolean;
}

/** One write-ahead record, as the journal hands it back to a rollback. */
export interface ChangeRecord extends ChangeState {
  data: JsonObject;
  /** Set once the change is known to have completed; absent when the process died in between. */
  done?: JsonObject;
}

export interface StepJournal {
  /** Record what is about to change (fsync'd) before changing it; returns the record id. */
  intent(target: string, action: string, data: JsonObject): Promise<number>;
  /** Record that the change happened, with what the step learned (names, hashes). */
  done(id: number, data?: JsonObject): Promise<void>;
  /** Record that the write got no reply and had not shown when the step gave up on it. */
  outcomeUnknown(id: number, message: string): Promise<void>;
  /** Record that a write request of this change is being sent now (fsync'd before it leaves). */
  writeSent(id: number): Promise<void>;
  /** Earlier records of this step (a resumed run continues from them). */
  records(): ChangeRecord[];
}

export type Progress = { done: number; total: number; rate?: number; etaSec?: number; detail?: string };

export interface StepContext {
  runId: string;
  runDir: string;
  dryRun: boolean;
  signal: AbortSignal;
  journal: StepJournal;
  /** Per-target progress and notes; shown by the task list, JSON lines and the report. */
  progress(target: string, p: Progress): void;
  note(target: string, message: string, level?: 'info' | 'warn'): void;
}

/** What a bind learnt of the firmware: several userDataEncryptionKey bindings, one, or not known. */
export type BindingCapability = 'multi' | 'single' | 'unknown';

/**
 * The outcome on one target. `message` is for people; every fact a later reader acts on (resume,
 * the report, another step) has its own field, so no reader has to find it in the words.
 */
export interface TargetResult {
  target: string;
  status: 'ok' | 'skipped' | 'failed';
  message: string;
  /** Facts for the record (names, counts, census), shown in report.json as the step gave them. */
  changed?: JsonObject;
  /** It failed and the failure budget left it out of the rest of the run (status is then 'skipped'). */
  leftOut?: boolean;
  /** The userDataEncryptionKey bindings the appliance listed once the step was done with it. */
  bound?: string[];
  /** What the bind probe learnt of the appliance's firmware. */
  capability?: BindingCapability;
  /** A failure's NITRO errorcodes, LDAP results, network errors (the report explains them). */
  codes?: ErrorCodes;
}

export interface RollbackResult {
  /** The change record this undoes (the runner journals the undo against it). */
  id?: number;
  target: string;
  status: 'undone' | 'not-needed' | 'failed';
  message: string;
  /** What this undo took (its checks and waits included), when the step measured it. */
  ms?: number;
  /** The change cannot be made any more (what it needed is gone): a write of it still in flight would be refused. */
  settled?: boolean;
  /** The userDataEncryptionKey bindings the appliance listed after this undo (read back, not assumed). */
  bound?: string[];
  /** The certkey this undo deleted from the appliance. */
  certkeyDeleted?: string;
  /** A failed undo's codes, as on TargetResult. */
  codes?: ErrorCodes;
}

export interface Step {
  /** Unique within a playbook: "bind-new-key", "bind-new-key#2". */
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  /** Targets the step works on, for the task list and JUnit (one test case per step × target). */
  targets(): string[];
  plan(ctx: StepContext): Promise<StepPlan>;
  apply(ctx: StepContext): Promise<TargetResult[]>;
  /** A check after apply, when a step has one beyond what apply already read back. */
  verify?(ctx: StepContext): Promise<void>;
  /** Undo this run's records, newest first; check that each change really happened first. */
  rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]>;
  /**
   * What a dry run does instead of apply. Absent: the plan's changes are reported as "would".
   * Reads only: the transports refuse writes on a dry run anyway.
   */
  dryRun?(ctx: StepContext): Promise<TargetResult[]>;
  /** Read-only steps that gather live facts later steps need run again when a run resumes. */
  readonly rerunOnResume?: boolean;
  /**
   * Called after every rollback has run (in start order): for work that must come last, such as
   * saving the configuration again once the running configuration is back as it was.
   */
  afterRollback?(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]>;
}

/** What the check of the no-lockout invariant found (src/steps/invariant.ts judges it). */
export interface SafetyVerdict {
  holds: boolean;
  /** Every breach is on an appliance the failure budget left out. */
  leftOutOnly: boolean;
  message: string;
}

/**
 * Checks, before the runner reports, that every device is readable by a key bound on every
 * appliance; may put it right first (repair), journaling what it does through `ctx`.
 */
export type SafetyCheck = (ctx: StepContext, phase: 'run' | 'rollback') => Promise<SafetyVerdict>;
