// Shared rollback plumbing for per-appliance records: find the appliance, read the record as its
// action has it, undo, never throw.
import type { ChangeRecord, RollbackResult, StepContext } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import type { StepDeps } from './facts.js';
import { errorCodes } from '../errors.js';
import { describeError } from './fleet.js';
import { unlessStillPending, waitOutLateWrite } from './late-writes.js';
import { typedChange, type ChangeAction, type ChangeOf } from './records.js';

export type UndoOutcome = Omit<RollbackResult, 'target' | 'id'>;

/**
 * Undo each record of `action` with `undo`. A record of another action is none of this step's
 * writes (nothing to undo); one whose shape is wrong fails, naming the record.
 */
export async function undoEach<A extends ChangeAction>(
  deps: StepDeps,
  ctx: StepContext,
  records: ChangeRecord[],
  action: A,
  undo: (a: ApplianceHandle, c: ChangeOf<A>) => Promise<UndoOutcome>,
): Promise<RollbackResult[]> {
  const out: RollbackResult[] = [];
  for (const r of records) {
    const a = deps.estate.appliances.find((x) => x.name === r.target);
    if (!a) {
      out.push({ id: r.id, target: r.target, status: 'failed', message: `appliance ${r.target} is no longer in the inventory: undo "${r.action}" by hand` });
      continue;
    }
    const t0 = Date.now();
    try {
      const c = typedChange(r);
      if (!isAction(c, action)) {
        out.push({ id: r.id, target: r.target, status: 'not-needed', message: `nothing to undo for ${r.action}` });
        continue;
      }
      // A failover since the change: talk to whichever node is primary now.
      await a.client.recheckPrimary().catch(() => undefined);
      await waitOutLateWrite(a, c, ctx);
      out.push({ id: r.id, target: r.target, ...unlessStillPending(a, c, await undo(a, c), ctx.runId), ms: Date.now() - t0 });
    } catch (err) {
      const codes = errorCodes(err);
      out.push({ id: r.id, target: r.target, status: 'failed', message: describeError(err), ms: Date.now() - t0, ...(codes ? { codes } : {}) });
    }
  }
  return out;
}

function isAction<A extends ChangeAction>(c: { action: ChangeAction }, action: A): c is ChangeOf<A> {
  return c.action === action;
}
