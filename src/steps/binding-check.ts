// The last word of a rollback on the userDataEncryptionKey bindings: read them again and compare
// with what the journal says each binding step found. A write that got no reply can land after
// its undo ran (late-writes.ts waits for it, but an appliance may take longer still); then the
// appliance would not be as the report says. A difference is put right once (the keys bound
// before the run first, so vpn global is never left empty), and what cannot be put right is a
// failed undo (exit 3) saying the command a person must run.
import { bindUserDataEncryptionKey, listUserDataEncryptionKeys, unbindUserDataEncryptionKey } from '../nitro/index.js';
import type { ChangeRecord, RollbackResult, StepContext } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import type { StepDeps } from './facts.js';
import { describeError } from './fleet.js';
import { directoryDevices, unbindBreach } from './invariant.js';

/**
 * The keys a bind record's appliance must hold again once its certkey goes: those bound before
 * the bind, and in the swap phase the old key this run unbound a step earlier.
 */
export function restoreKeys(r: ChangeRecord): string[] {
  const before = (r.data['boundBefore'] as string[] | undefined) ?? [];
  const also = typeof r.data['restoreWith'] === 'string' ? [r.data['restoreWith']] : [];
  return [...new Set([...before, ...also])];
}

/** Whether the record's certkey must be bound once this run is rolled back; undefined: no claim. */
export function boundAfterRollback(r: ChangeRecord): boolean | undefined {
  const key = r.data['certkey'];
  if (typeof key !== 'string') return undefined;
  const before = (r.data['boundBefore'] as string[] | undefined) ?? [];
  // A change the run did not make (the key was already gone, the probe left nothing bound) is
  // not this run's to assert.
  if (r.done?.['applied'] === false) return undefined;
  if (r.action === 'bind') return before.includes(key);
  if (r.action === 'unbind') return true;
  return undefined;
}

export async function checkBindingsAfterRollback(deps: StepDeps, ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
  const out: RollbackResult[] = [];
  for (const target of new Set(records.map((r) => r.target))) {
    const a = deps.estate.appliances.find((x) => x.name === target);
    if (!a) continue; // the undo itself already failed for it, naming why
    const mine = records.filter((r) => r.target === target && boundAfterRollback(r) !== undefined);
    try {
      await a.client.recheckPrimary().catch(() => undefined);
      out.push(...await checkOne(deps, a, ctx, mine));
    } catch (err) {
      out.push({ target, status: 'failed', message: `could not read the userDataEncryptionKey bindings after the rollback: ${describeError(err)}; check 'show vpn global' by hand` });
    }
  }
  return out;
}

async function checkOne(deps: StepDeps, a: ApplianceHandle, ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
  const out: RollbackResult[] = [];
  for (const r of records) {
    const key = String(r.data['certkey']);
    const want = boundAfterRollback(r)!;
    const bound = await listUserDataEncryptionKeys(a.client);
    if (bound.includes(key) === want) {
      if (r.outcomeUnknownAt) ctx.note(a.name, `after the rollback vpn global lists ${bound.join(', ') || 'no key'}: ${key} ${want ? 'bound' : 'not bound'}, as before the run (a write of it got no reply)`);
      continue;
    }
    const late = `${key} was ${want ? 'unbound' : 'bound'} again after its undo — a write that got no reply landed late`;
    if (!want && deps.facts.keepNewKey.length) continue; // kept on purpose: the rollback said why
    try {
      if (want) {
        const now = await bindUserDataEncryptionKey(a.client, key);
        out.push({ id: r.id, target: a.name, status: 'undone', message: `${late}; bound once more (bound now: ${now.bound.join(', ')})`, bound: now.bound });
        continue;
      }
      // Unbinding it must not leave vpn global empty: the keys bound before the run go back first.
      const missing = restoreKeys(r).filter((k) => !bound.includes(k));
      for (const k of missing) await bindUserDataEncryptionKey(a.client, k);
      const breach = await unbindBreach(deps.estate, a, key, await directoryDevices(deps.estate));
      if (breach) {
        out.push({ id: r.id, target: a.name, status: 'failed', message: `${late}; kept bound: ${breach}` });
        continue;
      }
      const now = await unbindUserDataEncryptionKey(a.client, key);
      deps.facts.keyUnboundAt = Date.now();
      out.push({ id: r.id, target: a.name, status: 'undone', message: `${late}; ${missing.length ? `${missing.join(', ')} bound again, then ` : ''}unbound once more (bound now: ${now.bound.join(', ') || 'none'})`, bound: now.bound });
    } catch (err) {
      out.push({ id: r.id, target: a.name, status: 'failed', message: `${late}; putting it right failed (${describeError(err)}): '${want ? 'bind' : 'unbind'} vpn global -userDataEncryptionKey ${key}' by hand, once the keys bound before the run are bound` });
    }
  }
  return out;
}
