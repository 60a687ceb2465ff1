// Shared rollback plumbing for per-appliance records: find the appliance, undo, never throw.
import type { ChangeRecord, RollbackResult, StepContext } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import type { StepDeps } from './facts.js';
import { describeError } from './fleet.js';
import { unlessStillPending, waitOutLateWrite } from './late-writes.js';

export async function undoEach(
  deps: StepDeps,
  ctx: StepContext,
  records: ChangeRecord[],
  undo: (a: ApplianceHandle, r: ChangeRecord) => Promise<Omit<RollbackResult, 'target' | 'id'>>,
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
      // A failover since the change: talk to whichever node is primary now.
      await a.client.recheckPrimary().catch(() => undefined);
      await waitOutLateWrite(a, r, ctx);
      out.push({ id: r.id, target: r.target, ...unlessStillPending(a, r, await undo(a, r), ctx.runId), ms: Date.now() - t0 });
    } catch (err) {
      out.push({ id: r.id, target: r.target, status: 'failed', message: describeError(err), ms: Date.now() - t0 });
    }
  }
  return out;
}
