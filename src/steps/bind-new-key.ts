// Binding the new key as userDataEncryptionKey. Overlap (the default where the firmware allows
// two bindings): bound before re-encrypting, next to the old one. Swap (one binding at a time):
// bound right after unbind-old-key.ts took the old one away — the plan states the outage this
// leaves for users not yet moved.
import { bindUserDataEncryptionKey, detectMultiBinding, listUserDataEncryptionKeys, NITRO_CODE } from '../nitro/index.js';
import { AdcError } from '../errors.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import type { ApplianceHandle } from './estate.js';
import { newCertkeyName, type StepDeps } from './facts.js';
import { checkSecondaryBindings, ensurePrimary, forEachAppliance } from './fleet.js';
import { checkBindingsAfterRollback } from './binding-check.js';
import { journaledWrite } from './late-writes.js';
import { rollbackNewKeyBinds } from './new-key-rollback.js';
import { intend } from './records.js';
import { ApplianceStep } from './appliance-step.js';
import type { StepOptions } from '../playbook/playbook.js';

export class BindNewKeyStep extends ApplianceStep implements Step {
  readonly kind = 'bind-new-key';
  readonly title: string;
  private readonly phase: 'overlap' | 'swap';
  constructor(id: string, deps: StepDeps<StepOptions<'bind-new-key'>>) {
    super(id, deps);
    this.phase = deps.with.phase;
    this.title = this.phase === 'overlap' ? 'Bind the new key as userDataEncryptionKey (old one still bound)' : 'Bind the new key where the firmware holds one binding (swap)';
  }

  async plan(): Promise<StepPlan> {
    const name = newCertkeyName(this.deps);
    const mode = this.deps.params.mode;
    return {
      changes: this.deps.estate.appliances.map((a) => {
        const f = this.deps.facts.appliances.get(a.name);
        const key = f?.newCertkey ?? name;
        if (f?.bound.includes(key)) return { target: a.name, description: `${key} is already bound: nothing to do`, noChange: true };
        if (this.phase === 'overlap') {
          if (mode === 'swap') return { target: a.name, description: 'swap mode: the new key is bound after re-encryption', noChange: true };
          const next = f?.bound.join(', ') || 'nothing';
          return {
            target: a.name,
            summary: `bind ${key} next to ${next}`,
            description: `bind ${key} next to ${next}${mode === 'auto' ? ` (swapped after re-encryption instead only if the firmware shows it holds one key: errorcode ${NITRO_CODE.invalidArgument} naming the key bound now, or the bind replacing it; any other refusal stops the run)` : ''}`,
          };
        }
        if (mode === 'swap' || f?.capability === 'single') {
          return { target: a.name, summary: `bind ${key} right after the old key is unbound`, description: `bind ${key} right after the old key is unbound (swap: the firmware holds one binding)` };
        }
        if (f?.capability === 'multi') return { target: a.name, description: `nothing to do: ${key} is bound in the overlap step (the firmware holds several)`, noChange: true };
        return {
          target: a.name,
          summary: `bind ${key} only if this appliance refused the overlap bind`,
          description: `bind ${key} only if this appliance refused the overlap bind (swap, right after the old key is unbound)`,
        };
      }),
      warnings:
        mode !== 'overlap' && this.phase === 'swap'
          ? [
              'swap: between the re-encryption and this binding, users whose secrets were moved cannot log on through appliances that still hold only the old key; the run keeps this window as short as it can',
            ]
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
    const single = results.filter((r) => r.capability === 'single').map((r) => r.target);
    const overlap = results.filter((r) => r.status === 'ok').map((r) => r.target);
    if (single.length === 0 || overlap.length === 0) return;
    ctx.note(
      'fleet',
      `mixed firmware: both keys bound now on ${overlap.join(', ')} (overlap: no outage there); one key at a time on ${single.join(', ')}, swapped right after the re-encryption (users moved cannot log on through it from the re-encryption until that swap). Keeping the new key off ${overlap.join(', ')} as well would not shorten that window and would add an outage there.`,
      'warn',
    );
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
    const change = await intend(ctx, a.name, 'bind', { certkey: key, boundBefore: before, restoreWith });
    if (this.phase === 'overlap' && before.length > 0) {
      const probe = await journaledWrite(ctx, change.id, a, () => detectMultiBinding(a.client, key, { keepIfAccepted: true }));
      await change.done({ applied: probe.candidateLeftBound, capability: probe.capability, evidence: probe.evidence });
      if (f) f.capability = probe.capability;
      // The check at the end of the run waits for registrations that picked the key meanwhile.
      if (probe.unboundAgain) this.deps.facts.keyUnboundAt = Date.now();
      if (!probe.candidateLeftBound) {
        if (this.deps.params.mode === 'overlap') {
          throw new AdcError(`${a.name}: the firmware holds one userDataEncryptionKey at a time (${probe.evidence}); run with mode swap`);
        }
        ctx.note(a.name, `firmware holds one userDataEncryptionKey at a time (${probe.evidence}): this appliance is swapped after re-encryption`, 'warn');
        return { target: a.name, status: 'skipped', message: `one binding at a time: ${key} is bound after re-encryption (swap)`, changed: { capability: 'single' }, capability: 'single' };
      }
      if (f) f.bound = probe.bound;
      const ha = await checkSecondaryBindings(a, probe.bound);
      return {
        target: a.name,
        status: 'ok',
        message: `${key} bound next to ${before.join(', ')}; new registrations use it${ha}`,
        changed: { bound: probe.bound, capability: probe.capability },
        bound: probe.bound,
        capability: probe.capability,
      };
    }
    const r = await journaledWrite(ctx, change.id, a, () => bindUserDataEncryptionKey(a.client, key));
    await change.done({ applied: true });
    if (f) f.bound = r.bound;
    const ha = await checkSecondaryBindings(a, r.bound);
    return { target: a.name, status: 'ok', message: `${key} bound as userDataEncryptionKey (bound now: ${r.bound.join(', ')})${ha}`, changed: { bound: r.bound }, bound: r.bound };
  }

  /** Fleet-wide: the new key goes from every appliance at once, once no device needs it (new-key-rollback.ts). */
  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return rollbackNewKeyBinds(this.deps, ctx, records);
  }

  /** Read the bindings again once every undo has run: a late write may have changed them since. */
  async afterRollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return checkBindingsAfterRollback(this.deps, ctx, records);
  }
}
