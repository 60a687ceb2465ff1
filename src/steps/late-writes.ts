// Writes that may still land. When the appliance gives no reply to a write and the change has
// not shown by the time the step gives up on it (src/nitro/settle.ts), the request may still be
// running there. Undoing it before it lands would race it: the undo finds nothing to undo, and
// the late write then leaves a change the report calls rolled back — the worst of them an unbind
// of the old key landing after the new one was unbound, leaving the appliance with no
// userDataEncryptionKey at all. So such a write is journaled as "outcome unknown", and its undo
// first waits until it can no longer arrive.
import { NitroOutcomeUnknownError } from '../nitro/index.js';
import type { ChangeState, StepContext } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';

/** What the waits below read of a change: its journal state, and whether a done was recorded. */
export type WriteState = ChangeState & { done?: unknown };

/** The appliance's timings the waits are made of: its call timeout and its settle window. */
export interface WriteTimings {
  readonly timeoutMs: number;
  readonly settleMs: number;
}

/**
 * Run one journaled write on `a`: each NITRO write request it sends is journaled as it leaves
 * (so a crash can tell "nothing sent" from "sent, may still land"), and a "no reply, never
 * showed" failure is journaled before it is thrown.
 */
export async function journaledWrite<T>(ctx: StepContext, id: number, a: ApplianceHandle, write: () => Promise<T>): Promise<T> {
  try {
    return await a.client.withWriteHook(() => ctx.journal.writeSent(id), write);
  } catch (err) {
    if (err instanceof NitroOutcomeUnknownError) await ctx.journal.outcomeUnknown(id, err.message);
    throw err;
  }
}

/**
 * Until when the write of `r` may still land on `a`:
 * - the step gave up on it with no reply: one more settle window (it had already waited one);
 * - the process died inside its step (no `done`, and the step never ended) after sending a
 *   write: its call timeout and a settle window from when that write left (nothing sent: no wait);
 * - otherwise (done, or refused with an answer) it cannot land later.
 * Past the deadline — a `rollback` run later — no wait.
 */
export function lateWriteDeadline(t: WriteTimings, r: WriteState): number {
  if (r.done) return 0;
  const from = (t: string | undefined, ms: number) => {
    const at = t ? Date.parse(t) : NaN;
    return Number.isFinite(at) ? at + ms : 0;
  };
  if (r.outcomeUnknownAt) return from(r.outcomeUnknownAt, t.settleMs);
  if (!r.stepEnded) return from(r.writeSentAt, t.timeoutMs + t.settleMs);
  return 0;
}

/** Wait out a write of `r` that may still land on `a` (no wait when its outcome is known). */
export async function waitOutLateWrite(a: ApplianceHandle, r: WriteState, ctx: StepContext): Promise<void> {
  const ms = lateWriteDeadline(a.client, r) - Date.now();
  if (ms <= 0) return;
  const why = r.outcomeUnknownAt ? 'got no reply' : 'was under way when the run stopped';
  ctx.note(a.name, `"${r.action}" ${why}: waiting ${(ms / 1000).toFixed(1)} s more in case the appliance still applies it, before undoing it`, 'warn');
  await new Promise((res) => setTimeout(res, ms));
}

/**
 * How long after it was sent a write that never showed is still taken to be able to land: ten
 * times the appliance's call timeout, and at least a minute (5 minutes at the default 30-s
 * timeout). The waits above cover what the inventory says an appliance takes; a real appliance
 * busy with a save or an HA sync can take longer, and nothing public says when it gives up. Within
 * this horizon a rollback treats such a write as pending (safety over exactness).
 */
export function lateWriteHorizonMs(t: WriteTimings): number {
  return Math.max(60_000, 10 * t.timeoutMs);
}

/**
 * A write of `r` got no reply while the run watched it, never showed, and was sent recently
 * enough that it may still land on `a`. (A write the process died in the middle of is waited out
 * for its timeout and a settle window from when it left, and then taken as not made:
 * lateWriteDeadline.)
 */
export function mayStillLand(t: WriteTimings, r: WriteState, now = Date.now()): boolean {
  if (r.done || r.reverted || !r.outcomeUnknownAt) return false;
  const sent = Date.parse(r.writeSentAt ?? r.outcomeUnknownAt);
  return Number.isFinite(sent) && now < sent + lateWriteHorizonMs(t);
}

/**
 * An undo that found nothing to undo for a write that may still land cannot claim the appliance
 * is as before: the write may appear after the report. Say so, and what to do (exit 3).
 */
export function unlessStillPending<T extends { status: string; message: string; settled?: boolean }>(a: ApplianceHandle, r: WriteState, res: T, runId: string): T {
  if (res.status !== 'not-needed' || res.settled || !mayStillLand(a.client, r)) return res;
  return {
    ...res,
    status: 'failed',
    message: `${res.message}; but its "${r.action}" got no reply and never showed, and may still be applied on ${a.name}: look there, then run 'adc-cutover rollback ${runId}' again to undo it if it did`,
  };
}
