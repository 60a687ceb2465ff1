// The run journal (events.jsonl): append-only, one JSON object a line, fsync'd after every
// record so that a record on disk means the intent or result really was recorded before the
// process went on. A crash can only lose the last, partly written line, which reading ignores.
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { AdcError, EXIT, type ErrorCodes } from '../errors.js';
import { upgradeJournal } from './journal-format.js';
import type { JsonObject } from './json.js';
import { redactValue } from './redact.js';
import type { BindingCapability, ChangeRecord } from './step.js';

export type JournalRecord =
  // `format`: the journal format this session writes (journal-format.ts); absent in format 1.
  | {
      type: 'run';
      format?: number;
      runId: string;
      playbook: string;
      inventory: string;
      params: JsonObject;
      planHash: string;
      dryRun: boolean;
      user: string;
      host: string;
      attempt: number;
      inputs?: JsonObject;
    }
  | { type: 'plan'; planHash: string; plan: JsonObject }
  | { type: 'step-start'; step: string; kind: string; title: string }
  | { type: 'intent'; id: number; step: string; target: string; action: string; data: JsonObject }
  | { type: 'done'; id: number; data: JsonObject }
  | { type: 'outcome-unknown'; id: number; message: string }
  | { type: 'write-sent'; id: number }
  | { type: 'target'; step: string; target: string; status: string; message: string; changed?: JsonObject; leftOut?: boolean; bound?: string[]; capability?: BindingCapability; codes?: ErrorCodes }
  | { type: 'note'; step?: string; target: string; level: 'info' | 'warn'; message: string }
  | { type: 'step-end'; step: string; status: 'ok' | 'failed' | 'skipped'; error?: string; codes?: ErrorCodes; durationMs: number }
  | { type: 'rollback-start'; format?: number; reason: string }
  | { type: 'undo'; id: number; step: string; target: string; status: 'undone' | 'not-needed' | 'failed'; message: string; ms?: number; bound?: string[]; certkeyDeleted?: string; codes?: ErrorCodes }
  | { type: 'rollback-end'; status: 'complete' | 'incomplete' }
  | { type: 'invariant'; phase: 'run' | 'rollback'; holds: boolean; leftOutOnly: boolean; message: string }
  | { type: 'run-end'; status: RunStatus; exitCode: number; message?: string };

/**
 * 'locked-out': the steps finished, but the check at the end found users who cannot log on
 * through some appliance (exit 3). 'left-out': done, with appliances left out within the failure
 * budget, through which users already moved cannot log on (exit 4).
 */
export type RunStatus = 'succeeded' | 'left-out' | 'locked-out' | 'failed' | 'rolled-back' | 'rollback-incomplete' | 'interrupted' | 'refused';

export type Stamped = JournalRecord & { t: string; seq: number };

export class Journal {
  private fd: number;
  private seq: number;
  private nextId: number;

  private constructor(
    readonly path: string,
    existing: Stamped[],
  ) {
    this.fd = openSync(path, 'a', 0o600);
    // A line torn by a crash or a full disk is dropped before appending: left in place, the
    // records after it would make it a bad line in the middle, which reads as corruption.
    const text = readFileSync(path);
    if (text.length > 0 && text[text.length - 1] !== 0x0a) ftruncateSync(this.fd, text.lastIndexOf(0x0a) + 1);
    this.seq = existing.length;
    this.nextId = 1 + Math.max(0, ...existing.flatMap((r) => (r.type === 'intent' ? [r.id] : [])));
  }

  static open(path: string): Journal {
    return new Journal(path, readJournal(path, { missingOk: true }));
  }

  append(rec: JournalRecord): Stamped {
    const stamped = { t: new Date().toISOString(), seq: this.seq + 1, ...redactValue(rec) };
    const line = Buffer.from(JSON.stringify(stamped) + '\n', 'utf8');
    const size = fstatSync(this.fd).size;
    // A full disk may take part of a line: take it back, so the journal ends on a whole record.
    const written = writeSync(this.fd, line);
    if (written !== line.length) {
      try {
        ftruncateSync(this.fd, size);
      } catch {
        // The reader ignores a torn last line; opening the journal again drops it.
      }
      throw Object.assign(new Error(`short write to ${this.path} (${written} of ${line.length} bytes): no space left on device`), { code: 'ENOSPC' });
    }
    fsyncSync(this.fd);
    this.seq++;
    return stamped;
  }

  newIntentId(): number {
    return this.nextId++;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The journal's records, in the present format whatever format wrote them (journal-format.ts). */
export function readJournal(path: string, opts: { missingOk?: boolean } = {}): Stamped[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (opts.missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AdcError(`${path}: cannot read the run journal (${(err as NodeJS.ErrnoException).code})`, EXIT.invalidInput);
  }
  const out: Stamped[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as Stamped);
    } catch {
      // Only the last line may be torn by a crash; a bad line in the middle is corruption.
      if (i < lines.length - 2) throw new AdcError(`${path}:${i + 1}: the run journal is corrupt`, EXIT.invalidInput);
    }
  });
  return upgradeJournal(out, path);
}

/** The change records of each step, with done/undone folded in, in journal order. */
export function changeRecords(records: Stamped[]): ChangeRecord[] {
  const byId = new Map<number, ChangeRecord>();
  // A new attempt (resume) seals what the last one left open: its steps' ends say nothing of a
  // write the earlier process was killed in the middle of.
  const sealed = new Set<ChangeRecord>();
  for (const r of records) {
    if (r.type === 'run') for (const c of byId.values()) sealed.add(c);
    if (r.type === 'rollback-end' && r.status === 'complete') for (const c of byId.values()) if (c.undone) c.rolledBackBefore = true;
    if (r.type === 'step-end') for (const c of byId.values()) if (c.step === r.step && !sealed.has(c)) c.stepEnded = true;
    if (r.type === 'intent') byId.set(r.id, { id: r.id, step: r.step, target: r.target, action: r.action, data: r.data });
    else if (r.type === 'done') {
      const c = byId.get(r.id);
      if (c) c.done = r.data;
    } else if (r.type === 'outcome-unknown') {
      const c = byId.get(r.id);
      if (c) c.outcomeUnknownAt = r.t;
    } else if (r.type === 'write-sent') {
      const c = byId.get(r.id);
      if (c) c.writeSentAt = r.t;
    } else if (r.type === 'undo' && (r.status === 'undone' || r.status === 'not-needed')) {
      const c = byId.get(r.id);
      if (c) {
        c.undone = true;
        if (r.status === 'undone') c.reverted = true;
      }
    }
  }
  return [...byId.values()];
}
