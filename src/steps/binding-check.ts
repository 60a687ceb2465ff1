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
import { typedChange, type ChangeOf } from './records.js';

/** A change of a userDataEncryptionKey binding: the new key bound, or the old one unbound. */
export type BindingChange = ChangeOf<'bind'> | ChangeOf<'unbind'>;

/**
 * The keys a binding change's appliance must hold again once its certkey goes: those bound before
 * it, and in the swap phase the old key this run unbound a step earlier.
 */
export function restoreKeys(c: BindingChange): string[] {
  const also = c.action === 'bind' && c.data.restoreWith !== null ? [c.data.restoreWith] : [];
  return [...new Set([...c.data.boundBefore, ...also])];
}

/** Whether the change's certkey must be bound once this run is rolled back; undefined: no claim. */
export function boundAfterRollback(c: BindingChange): boolean | undefined {
  // A change the run did not make (the key was already gone, the probe left nothing bound) is
  // not this run's to assert.
  if (c.done?.applied === false) return undefined;
  return c.action === 'bind' ? c.data.boundBefore.includes(c.data.certkey) : true;
}

export async function checkBindingsAfterRollback(deps: StepDeps, ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
  const out: RollbackResult[] = [];
  const changes: BindingChange[] = [];
  for (const r of records) {
    try {
      const c = typedChange(r);
      if (c.action === 'bind' || c.action === 'unbind') changes.push(c);
    } catch (err) {
      out.push({ id: r.id, target: r.target, status: 'failed', message: `${describeError(err)}; check 'show vpn global' by hand` });
    }
  }
  for (const target of new Set(changes.map((c) => c.target))) {
    const a = deps.estate.appliances.find((x) => x.name === target);
    if (!a) continue; // the undo itself already failed for it, naming why
    const mine = changes.filter((c) => c.target === target && boundAfterRollback(c) !== undefined);
    try {
      await a.client.recheckPrimary().catch(() => undefined);
      out.push(...(await checkOne(deps, a, ctx, mine)));
    } catch (err) {
      out.push({ target, status: 'failed', message: `could not read the userDataEncryptionKey bindings after the rollback: ${describeError(err)}; check 'show vpn global' by hand` });
    }
  }
  return out;
}

async function checkOne(deps: StepDeps, a: ApplianceHandle, ctx: StepContext, changes: BindingChange[]): Promise<RollbackResult[]> {
  const out: RollbackResult[] = [];
  for (const r of changes) {
    const key = r.data.certkey;
    const want = boundAfterRollback(r)!;
    const bound = await listUserDataEncryptionKeys(a.client);
    if (bound.includes(key) === want) {
      if (r.outcomeUnknownAt)
        ctx.note(a.name, `after the rollback vpn global lists ${bound.join(', ') || 'no key'}: ${key} ${want ? 'bound' : 'not bound'}, as before the run (a write of it got no reply)`);
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
      out.push({
        id: r.id,
        target: a.name,
        status: 'undone',
        message: `${late}; ${missing.length ? `${missing.join(', ')} bound again, then ` : ''}unbound once more (bound now: ${now.bound.join(', ') || 'none'})`,
        bound: now.bound,
      });
    } catch (err) {
      out.push({
        id: r.id,
        target: a.name,
        status: 'failed',
        message: `${late}; putting it right failed (${describeError(err)}): '${want ? 'bind' : 'unbind'} vpn global -userDataEncryptionKey ${key}' by hand, once the keys bound before the run are bound`,
      });
    }
  }
  return out;
}
