// Run one piece of work on every appliance, a few at a time, and apply the failure budget:
// by default any failure fails the step (and the runner rolls back the fleet); with
// maxFailedAppliances > 0, that many may fail and are left out of later steps.
import { AdcError, errorCodes, errorMessage } from '../errors.js';
import { NitroError, listUserDataEncryptionKeysOn } from '../nitro/index.js';
import type { StepContext, TargetResult } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import type { StepDeps } from './facts.js';

export async function forEachAppliance(deps: StepDeps, ctx: StepContext, work: (a: ApplianceHandle) => Promise<TargetResult>): Promise<TargetResult[]> {
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
        const codes = errorCodes(err);
        results.push({ target: a.name, status: 'failed', message: describeError(err), ...(codes ? { codes } : {}) });
      }
    }
  });
  await Promise.all(workers);
  const failed = results.filter((r) => r.status === 'failed');
  const leftOut = deps.facts.excluded.size + failed.length;
  if (failed.length > 0 && withinBudget({ leftOutBefore: deps.facts.excluded.size, failedNow: failed.length, budget: deps.params.maxFailedAppliances, appliances: deps.estate.appliances.length })) {
    // Within budget: keep going without them, and say so loudly.
    for (const f of failed) {
      deps.facts.excluded.add(f.target);
      ctx.note(f.target, `failed and left out of the rest of the run (failure budget ${deps.params.maxFailedAppliances}, ${leftOut} used): ${f.message}`, 'warn');
      f.status = 'skipped';
      f.leftOut = true;
      f.message = `FAILED, left out within the failure budget: ${f.message}`;
    }
  }
  return order(deps, results);
}

/**
 * Whether the appliances that failed now may be left out and the run go on without them. The
 * budget counts appliances over the whole run, not per step: one left out at the import and
 * another at the binding are two. And it never leaves out every appliance: a run that goes on
 * with none would re-encrypt the directory for nobody and lock every user out.
 */
export function withinBudget(n: { leftOutBefore: number; failedNow: number; budget: number; appliances: number }): boolean {
  const leftOut = n.leftOutBefore + n.failedNow;
  return leftOut <= n.budget && leftOut < n.appliances;
}

function order(deps: StepDeps, results: TargetResult[]): TargetResult[] {
  const names = deps.estate.appliances.map((a) => a.name);
  return [...results].sort((x, y) => names.indexOf(x.target) - names.indexOf(y.target));
}

export function describeError(err: unknown): string {
  if (err instanceof NitroError) return err.message; // already names appliance, method, resource, errorcode
  return errorMessage(err);
}

/**
 * Re-detect the HA primary before a write phase. A failover between phases is followed, not
 * fatal: writes go to whichever node is primary now, and the run says so (the operator should
 * know the pair moved during the change window). Compared with what this step layer last knew,
 * not with the client's own view, because the client may already have followed a 1028 reply.
 */
export async function ensurePrimary(a: ApplianceHandle, ctx: StepContext): Promise<void> {
  const known = a.target?.primaryUrl;
  const now = await a.client.recheckPrimary();
  a.target = now;
  if (known && now.primaryUrl !== known) {
    ctx.note(a.name, `HA failover since the last look: ${now.primaryUrl} is the primary now (was ${known}); writes go there`, 'warn');
  }
}

/**
 * An HA pair is one target with two nodes: writes go to the primary, and the secondary is read
 * back to prove the change propagated (HA command propagation can fail without the primary's
 * reply saying so: 349/347/457/458 are the cases the appliance does report). Reading the
 * secondary is allowed; only writing there is not. Returns a phrase for the step's message.
 */
export async function checkSecondaryBindings(a: ApplianceHandle, expected: readonly string[]): Promise<string> {
  // The client's view is the newest: it follows a 1028 to the new primary by itself.
  const t = a.client.target ?? a.target;
  if (t?.mode !== 'ha') return '';
  if (!t.secondaryUrl) return '; the HA secondary was not checked (its URL is not given or it did not answer)';
  const want = [...expected].sort().join(', ');
  let seen = '';
  // Propagation is synchronous on the appliance; a short grace covers a busy secondary.
  for (let i = 0; i < 5; i++) {
    seen = (await listUserDataEncryptionKeysOn(a.client, t.secondaryUrl)).sort().join(', ');
    if (seen === want) return `; the HA secondary ${t.secondaryUrl} lists the same`;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new AdcError(`${a.name}: the HA secondary ${t.secondaryUrl} lists userDataEncryptionKey [${seen}] but the primary ${t.primaryUrl} has [${want}]: HA propagation failed`);
}
