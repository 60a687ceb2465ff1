// A group's plans and the pre-write check of the ones that write, as one step: what the engine
// computes for a group before its backup, whether in its own thread or in a pool thread.
import type { EntryPlan, PreparedJob } from './job.js';

export interface PlanRequest {
  id: number;
  values: string[][];
}

export interface Planned {
  plans: EntryPlan[];
  /** Per entry: for a write, the reason its new value failed the check (undefined: it passed). */
  bad: (string | undefined)[];
}

export function planAndCheck(job: PreparedJob, values: readonly string[][]): Planned {
  const plans = job.planMany(values);
  const writes: number[] = [];
  plans.forEach((p, i) => {
    if (p.kind === 'write') writes.push(i);
  });
  const bad: (string | undefined)[] = new Array<string | undefined>(plans.length).fill(undefined);
  if (writes.length > 0) {
    const reasons = job.checkWrites(writes.map((i) => plans[i] as Extract<EntryPlan, { kind: 'write' }>));
    writes.forEach((i, k) => (bad[i] = reasons[k]));
  }
  // The device JSON kept for the check is not needed after it: not copied back to the engine.
  for (const p of plans) if (p.kind === 'write') delete p.plaintexts;
  return { plans, bad };
}
