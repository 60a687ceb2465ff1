// Run one piece of work on every appliance, a few at a time, and apply the failure budget:
// by default any failure fails the step (and the runner rolls back the fleet); with
// maxFailedAppliances > 0, that many may fail and are left out of later steps.
import { errorMessage } from '../errors.js';
import { NitroError } from '../nitro/index.js';
import type { StepContext, TargetResult } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import type { StepDeps } from './facts.js';

export async function forEachAppliance(
  deps: StepDeps,
  ctx: StepContext,
  work: (a: ApplianceHandle) => Promise<TargetResult>,
): Promise<TargetResult[]> {
  const queue = deps.estate.appliances.filter((a) => !deps.facts.excluded.has(a.name));
  const results: TargetResult[] = deps.estate.appliances
    .filter((a) => deps.facts.excluded.has(a.name))
    .map((a) => ({ target: a.name, status: 'skipped', message: 'left out: it failed earlier within the failure budget' }));
  const workers = Array.from({ length: Math.min(deps.params.parallel, queue.length) }, async () => {
    for (let a = queue.shift(); a; a = queue.shift()) {
      if (ctx.signal.aborted) break;
      try {
        results.push(await work(a));
      } catch (err) {
        results.push({ target: a.name, status: 'failed', message: describeError(err) });
      }
    }
  });
  await Promise.all(workers);
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0 && failed.length <= deps.params.maxFailedAppliances) {
    // Within budget: keep going without them, and say so loudly.
    for (const f of failed) {
      deps.facts.excluded.add(f.target);
      ctx.note(f.target, `failed and left out (failure budget ${deps.params.maxFailedAppliances}): ${f.message}`, 'warn');
      f.status = 'skipped';
      f.message = `FAILED, left out within the failure budget: ${f.message}`;
    }
  }
  return order(deps, results);
}

function order(deps: StepDeps, results: TargetResult[]): TargetResult[] {
  const names = deps.estate.appliances.map((a) => a.name);
  return [...results].sort((x, y) => names.indexOf(x.target) - names.indexOf(y.target));
}

export function describeError(err: unknown): string {
  if (err instanceof NitroError) return err.message; // already names appliance, method, resource, errorcode
  return errorMessage(err);
}
