// Unbinding the old key: the end of an overlap cutover, the first half of a swap. Guarded by a
// census: no device may still be under the old certificate.
import { bindUserDataEncryptionKey, listUserDataEncryptionKeys, unbindUserDataEncryptionKey } from '../nitro/index.js';
import { AdcError } from '../errors.js';
import { census } from '../directory/index.js';
import { Keyring } from '../otp/index.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import { checkSecondaryBindings, ensurePrimary, forEachAppliance } from './fleet.js';
import { checkBindingsAfterRollback } from './binding-check.js';
import { journaledWrite } from './late-writes.js';
import { undoEach } from './undo.js';
import { ApplianceStep } from './appliance-step.js';

export class UnbindOldKeyStep extends ApplianceStep implements Step {
  readonly kind = 'unbind-old-key';
  readonly title = 'Unbind the old key (once no device needs it)';
  async plan(): Promise<StepPlan> {
    const old = this.deps.estate.certs.old.km;
    const stillOld = this.deps.facts.census?.byKid.find((k) => k.kid === old.kidText)?.devices ?? 0;
    return {
      changes: this.deps.estate.appliances.map((a) => {
        const f = this.deps.facts.appliances.get(a.name);
        // The facts stand for the change in the plan hash: the device count in the description
        // moves with every enrolment and must not make a reviewed plan "drift".
        return f?.oldCertkey && f.bound.includes(f.oldCertkey)
          ? { target: a.name, description: `unbind ${f.oldCertkey}, after a census shows no device under the old certificate (${stillOld} today, re-encrypted before this step)`, facts: { unbind: f.oldCertkey } }
          : { target: a.name, description: 'the old key is not bound: nothing to do', facts: { unbind: null } };
      }),
      warnings: [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    const { estate } = this.deps;
    const dir = estate.inventory.directory;
    if (!estate.dryRun) {
      // The guard that makes unbinding safe: no value may still need the old key.
      const client = await estate.directory();
      try {
        const c = await census(client, { base: dir.base, filter: dir.filter, attribute: dir.attribute, pageSize: dir.pageSize, keyring: new Keyring([estate.certs.old.km, estate.certs.new.km]) });
        const left = c.byKid.find((k) => k.kid === estate.certs.old.km.kidText);
        if (left && left.devices > 0) {
          throw new AdcError(`${left.devices} device(s) in ${left.entries} entr(ies) are still under the old certificate: not unbinding it (re-run the directory step, or look at the report's failures)`);
        }
        ctx.note('directory', `census before unbinding: no device under the old certificate (${c.withValue} values checked)`);
      } finally {
        await client.close();
      }
    }
    return forEachAppliance(this.deps, ctx, async (a) => {
      const f = this.deps.facts.appliances.get(a.name);
      const old = f?.oldCertkey;
      await ensurePrimary(a, ctx);
      const before = await listUserDataEncryptionKeys(a.client);
      if (!old || !before.includes(old)) return { target: a.name, status: 'skipped', message: 'the old key is not bound' };
      const id = await ctx.journal.intent(a.name, 'unbind', { certkey: old, boundBefore: before });
      const r = await journaledWrite(ctx, id, a, () => unbindUserDataEncryptionKey(a.client, old));
      await ctx.journal.done(id, { applied: r.changed });
      if (f) f.bound = r.bound;
      if (f && r.changed) f.unboundByRun = [...(f.unboundByRun ?? []), old];
      const ha = await checkSecondaryBindings(a, r.bound);
      return { target: a.name, status: 'ok', message: `${old} unbound (bound now: ${r.bound.join(', ') || 'none'})${ha}`, changed: { bound: r.bound } };
    });
  }

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return undoEach(this.deps, ctx, records, async (a, r) => {
      const key = String(r.data['certkey']);
      if (r.done && r.done['applied'] === false) return { status: 'not-needed', message: `${key} was not unbound by this run` };
      const b = await bindUserDataEncryptionKey(a.client, key);
      return b.changed ? { status: 'undone', message: `${key} bound again (bound now: ${b.bound.join(', ')})` } : { status: 'not-needed', message: `${key} is bound` };
    });
  }

  async afterRollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return checkBindingsAfterRollback(this.deps, ctx, records);
  }
}
