// Binding the new key as userDataEncryptionKey. Overlap (the default where the firmware allows
// two bindings): bound before re-encrypting, next to the old one. Swap (one binding at a time):
// bound right after unbind-old-key.ts took the old one away — the plan states the outage this
// leaves for users not yet moved.
import {
  bindUserDataEncryptionKey, detectMultiBinding, getCertkey, isBindingRefusal, listUserDataEncryptionKeys, unbindUserDataEncryptionKey,
} from '../nitro/index.js';
import { AdcError } from '../errors.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import { newCertkeyName, type StepDeps } from './facts.js';
import { checkSecondaryBindings, describeError, ensurePrimary, forEachAppliance } from './fleet.js';
import { checkBindingsAfterRollback, restoreKeys } from './binding-check.js';
import { journaledWrite } from './late-writes.js';
import { undoEach } from './undo.js';
import { boundKeys, directoryDevices, unbindBreach } from './invariant.js';
import { awaitReplication } from './replication.js';
import { moveDevices, runBackups } from './sweep.js';
import { ApplianceStep } from './appliance-step.js';
import type { StepOptions } from '../playbook/playbook.js';

export class BindNewKeyStep extends ApplianceStep implements Step {
  readonly kind = 'bind-new-key';
  readonly title: string;
  private readonly phase: 'overlap' | 'swap';
  constructor(id: string, deps: StepDeps<StepOptions<'bind-new-key'>>) {
    super(id, deps);
    this.phase = deps.with.phase;
    this.title = this.phase === 'overlap'
      ? 'Bind the new key as userDataEncryptionKey (old one still bound)'
      : 'Bind the new key where the firmware holds one binding (swap)';
  }

  async plan(): Promise<StepPlan> {
    const name = newCertkeyName(this.deps);
    const mode = this.deps.params.mode;
    return {
      changes: this.deps.estate.appliances.map((a) => {
        const f = this.deps.facts.appliances.get(a.name);
        const key = f?.newCertkey ?? name;
        if (f?.bound.includes(key)) return { target: a.name, description: `${key} is already bound: nothing to do` };
        if (this.phase === 'overlap') {
          return {
            target: a.name,
            description: mode === 'swap' ? 'swap mode: the new key is bound after re-encryption'
              : `bind ${key} next to ${f?.bound.join(', ') || 'nothing'}${mode === 'auto' ? ' (swapped after re-encryption instead only if the firmware shows it holds one key: errorcode 278 naming the key bound now, or the bind replacing it; any other refusal stops the run)' : ''}`,
          };
        }
        if (mode === 'swap' || f?.capability === 'single') return { target: a.name, description: `bind ${key} right after the old key is unbound (swap: the firmware holds one binding)` };
        if (f?.capability === 'multi') return { target: a.name, description: `nothing to do: ${key} is bound in the overlap step (the firmware holds several)` };
        return { target: a.name, description: `bind ${key} only if this appliance refused the overlap bind (swap, right after the old key is unbound)` };
      }),
      warnings: mode !== 'overlap' && this.phase === 'swap'
        ? ['swap: between the re-encryption and this binding, users whose secrets were moved cannot log on through appliances that still hold only the old key; the run keeps this window as short as it can']
        : [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    const results = await forEachAppliance(this.deps, ctx, (a) => this.bindOn(a, ctx));
    if (this.phase === 'overlap') this.explainMixedFleet(ctx, results);
    return results;
  }

  /**
   * A mixed fleet (some appliances hold one binding) keeps overlap where the firmware allows it
   * and swaps the others after the re-encryption. Holding the new key back on the appliances that
   * could overlap was considered and refused: the single-binding appliances' outage starts when
   * the re-encryption starts whatever the others do (every user is moved then), while holding
   * back would add the same outage, for the whole re-encryption, to appliances that need none.
   * All it would prevent is registrations under the new key in the seconds between this step and
   * the re-encryption, and those users are exactly as placed as the ones moved a moment later.
   */
  private explainMixedFleet(ctx: StepContext, results: TargetResult[]): void {
    const single = results.filter((r) => r.changed?.['capability'] === 'single').map((r) => r.target);
    const overlap = results.filter((r) => r.status === 'ok').map((r) => r.target);
    if (single.length === 0 || overlap.length === 0) return;
    ctx.note('fleet', `mixed firmware: both keys bound now on ${overlap.join(', ')} (overlap: no outage there); one key at a time on ${single.join(', ')}, swapped right after the re-encryption (users moved cannot log on through it from the re-encryption until that swap). Keeping the new key off ${overlap.join(', ')} as well would not shorten that window and would add an outage there.`, 'warn');
  }

  private async bindOn(a: ApplianceHandle, ctx: StepContext): Promise<TargetResult> {
    const f = this.deps.facts.appliances.get(a.name);
    const key = f?.newCertkey ?? newCertkeyName(this.deps);
    await ensurePrimary(a, ctx);
    const before = await listUserDataEncryptionKeys(a.client);
    if (before.includes(key)) return { target: a.name, status: 'skipped', message: `${key} is already bound` };
    if (this.phase === 'overlap' && this.deps.params.mode === 'swap') {
      return { target: a.name, status: 'skipped', message: 'swap mode: bound after re-encryption' };
    }
    // In the swap phase the old key was unbound a step earlier by this run: its undo must not
    // take the new key away before the old one is back (see rollback).
    const restoreWith = this.phase === 'swap' && f?.oldCertkey && f.unboundByRun?.includes(f.oldCertkey) && !before.includes(f.oldCertkey) ? f.oldCertkey : null;
    const id = await ctx.journal.intent(a.name, 'bind', { certkey: key, boundBefore: before, restoreWith });
    if (this.phase === 'overlap' && before.length > 0) {
      const probe = await journaledWrite(ctx, id, a, () => detectMultiBinding(a.client, key, { keepIfAccepted: true }));
      await ctx.journal.done(id, { applied: probe.candidateLeftBound, capability: probe.capability, evidence: probe.evidence });
      if (f) f.capability = probe.capability;
      if (!probe.candidateLeftBound) {
        if (this.deps.params.mode === 'overlap') {
          throw new AdcError(`${a.name}: the firmware holds one userDataEncryptionKey at a time (${probe.evidence}); run with mode swap`);
        }
        ctx.note(a.name, `firmware holds one userDataEncryptionKey at a time (${probe.evidence}): this appliance is swapped after re-encryption`, 'warn');
        return { target: a.name, status: 'skipped', message: `one binding at a time: ${key} is bound after re-encryption (swap)`, changed: { capability: 'single' } };
      }
      if (f) f.bound = probe.bound;
      const ha = await checkSecondaryBindings(a, probe.bound);
      return { target: a.name, status: 'ok', message: `${key} bound next to ${before.join(', ')}; new registrations use it${ha}`, changed: { bound: probe.bound, capability: probe.capability } };
    }
    const r = await journaledWrite(ctx, id, a, () => bindUserDataEncryptionKey(a.client, key));
    await ctx.journal.done(id, { applied: true });
    if (f) f.bound = r.bound;
    const ha = await checkSecondaryBindings(a, r.bound);
    return { target: a.name, status: 'ok', message: `${key} bound as userDataEncryptionKey (bound now: ${r.bound.join(', ')})${ha}`, changed: { bound: r.bound } };
  }

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    // Two passes: an appliance whose new key cannot go yet (devices under it, and the old key not
    // back on every appliance to move them to) waits until the others have bound the old key back.
    const deferred = new Map<number, string>();
    const first = await undoEach(this.deps, ctx, records, (a, r) => this.undoBind(ctx, a, r, deferred));
    if (deferred.size === 0) return first;
    const again = await undoEach(this.deps, ctx, records.filter((r) => deferred.has(r.id)), (a, r) => this.unbindSafely(ctx, a, r, deferred.get(r.id)!));
    return first.map((x) => again.find((y) => y.id === x.id) ?? x);
  }

  private async undoBind(ctx: StepContext, a: ApplianceHandle, r: ChangeRecord, deferred: Map<number, string>): Promise<Omit<RollbackResult, 'target' | 'id'>> {
    const key = String(r.data['certkey']);
    const boundBefore = (r.data['boundBefore'] as string[] | undefined) ?? [];
    if (boundBefore.includes(key)) return { status: 'not-needed', message: `${key} was bound before this run: kept` };
    if (r.done && r.done['applied'] === false) return { status: 'not-needed', message: `${key} was never bound by this run` };
    const now = await listUserDataEncryptionKeys(a.client);
    if (!now.includes(key)) return { status: 'not-needed', message: `${key} was not bound` };
    const keep = this.deps.facts.keepNewKey;
    if (keep.length) return { status: 'failed', message: `${key} kept bound: ${keep.map((k) => k.why).join('; ')}` };
    const missing = restoreKeys(r).filter((k) => !now.includes(k));
    if (missing.length && now.every((k) => k === key)) return this.swapBack(ctx, a, r, key, missing, deferred);
    return this.unbindSafely(ctx, a, r, '', deferred);
  }

  /**
   * Unbind the new key only once no device needs it. Devices under it that no backup names
   * (enrolled during the run) are first moved to the old certificate — when the old key is bound
   * on every appliance, so the move locks nobody out anywhere (with `deferred`, the unbind waits
   * for a second pass when it is not yet); otherwise the new key is kept. Before the move, this
   * run's directory backups are put back, so every entry the run wrote gets its original bytes.
   */
  private async unbindSafely(ctx: StepContext, a: ApplianceHandle, r: ChangeRecord, first: string, deferred?: Map<number, string>): Promise<Omit<RollbackResult, 'target' | 'id'>> {
    const { estate } = this.deps;
    const key = String(r.data['certkey']);
    // Replicas may still hold values under the new certificate that the rollback has already put
    // back on the server it writes to: wait for them before judging (src/steps/replication.ts).
    let breach = await unbindBreach(estate, a, key, await awaitReplication(this.deps, ctx, 'new', { strict: false, purpose: `unbinding ${key} on ${a.name}` }));
    let moved = '';
    if (breach) {
      const bound = await Promise.all(estate.appliances.map((x) => boundKeys(estate, x)));
      const lacking = bound.filter((b) => !b.holds.has('old')).map((b) => b.appliance);
      if (lacking.length && deferred) {
        deferred.set(r.id, first);
        return { status: 'failed', message: `${first}waiting for the old key to be back on ${lacking.join(', ')}` };
      }
      if (lacking.length) return { status: 'failed', message: `${first}${key} kept bound: ${breach}, and the old key is not bound on ${lacking.join(', ')} to move them to` };
      const m = await moveDevices(this.deps, ctx, 'new', 'old', `before unbinding ${key} on ${a.name}`, runBackups(ctx.runDir));
      moved = `${m.message}; `;
      breach = await unbindBreach(estate, a, key, await directoryDevices(estate));
      if (breach) return { status: 'failed', message: `${first}${moved}${key} kept bound: ${breach}` };
    }
    // A rollback never removes the last key bound (with encryption ON, registration breaks),
    // unless the appliance had none before the run: then none is exactly as before.
    if (restoreKeys(r).length > 0 && (await listUserDataEncryptionKeys(a.client)).every((k) => k === key)) {
      return { status: 'failed', message: `${first}${moved}${key} kept bound: it is the only userDataEncryptionKey on ${a.name}, and unbinding it would leave none` };
    }
    const u = await unbindUserDataEncryptionKey(a.client, key);
    return { status: 'undone', message: `${first}${moved}${key} unbound (bound now: ${u.bound.join(', ') || 'none'})` };
  }

  /**
   * The new key is the only one bound and the keys it replaced are not back (a swap, or their
   * undo failed): unbinding it first would leave vpn global with none. Where the firmware holds
   * two, bind them back first; where it refuses a second binding, swap back at once (unbind,
   * bind) — the same short window the swap itself had.
   */
  private async swapBack(ctx: StepContext, a: ApplianceHandle, r: ChangeRecord, key: string, missing: string[], deferred: Map<number, string>): Promise<Omit<RollbackResult, 'target' | 'id'>> {
    try {
      for (const k of missing) await bindUserDataEncryptionKey(a.client, k);
    } catch (err) {
      // Unbind first only where the firmware is not known to hold two keys, the refusal is about
      // the binding (not a missing certkey or the appliance's state), and the keys to bind back
      // exist: otherwise the unbind would leave vpn global with none and no way back.
      const multi = this.deps.facts.appliances.get(a.name)?.capability === 'multi';
      const present = !multi && isBindingRefusal(err) && (await Promise.all(missing.map((k) => getCertkey(a.client, k)))).every(Boolean);
      if (!present) {
        return { status: 'failed', message: `${key} is the only key bound, and binding ${missing.join(', ')} back first failed (${describeError(err)}): ${key} kept, or the appliance would have none. 'bind vpn global -userDataEncryptionKey ${missing[0]}', then 'unbind vpn global -userDataEncryptionKey ${key}'` };
      }
      await unbindUserDataEncryptionKey(a.client, key);
      try {
        let now: string[] = [];
        for (const k of missing) now = (await bindUserDataEncryptionKey(a.client, k)).bound;
        return { status: 'undone', message: `one binding at a time: ${key} unbound, then ${missing.join(', ')} bound again (bound now: ${now.join(', ')})` };
      } catch (err2) {
        return { status: 'failed', message: `${key} unbound to swap back, but binding ${missing.join(', ')} failed (${describeError(err2)}): vpn global has NO userDataEncryptionKey — 'bind vpn global -userDataEncryptionKey ${missing[0]}' now` };
      }
    }
    return this.unbindSafely(ctx, a, r, `${missing.join(', ')} bound again first, then `, deferred);
  }

  /** Read the bindings again once every undo has run: a late write may have changed them since. */
  async afterRollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return checkBindingsAfterRollback(this.deps, ctx, records);
  }
}
