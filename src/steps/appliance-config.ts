// Saving the configuration, and turning OTP encryption on (for directories still in plaintext).
import { getOtpParameters, listUserDataEncryptionKeys, saveConfig, setOtpEncryption } from '../nitro/index.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import { describeError, ensurePrimary, forEachAppliance } from './fleet.js';
import { journaledWrite } from './late-writes.js';
import { intend } from './records.js';
import { undoEach } from './undo.js';
import { checkInvariant } from './invariant.js';
import { AdcError } from '../errors.js';
import { ApplianceStep } from './appliance-step.js';

export class SaveConfigStep extends ApplianceStep implements Step {
  readonly kind = 'save-config';
  readonly title = 'Save the configuration';
  async plan(): Promise<StepPlan> {
    return { changes: this.deps.estate.appliances.map((a) => ({ target: a.name, description: 'save ns config' })), warnings: [] };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    if (!this.deps.estate.dryRun) {
      // A configuration that locks users out is never saved: it would come back at every reboot.
      const v = await checkInvariant(this.deps);
      if (!v.holds && (v.unread.length > 0 || v.lockedOut.some((l) => !l.leftOut))) throw new AdcError(`not saving: ${v.message}`);
      ctx.note('estate', `before saving: ${v.message}`, v.holds ? 'info' : 'warn');
    }
    const results = await forEachAppliance(this.deps, ctx, async (a) => {
      await ensurePrimary(a, ctx);
      const change = await intend(ctx, a.name, 'save', {});
      const after = await journaledWrite(ctx, change.id, a, () => saveConfig(a.client));
      await change.done({ lastconfigsavetime: after.lastconfigsavetime ?? null });
      return { target: a.name, status: 'ok', message: `configuration saved${after.lastconfigsavetime ? ` at ${after.lastconfigsavetime}` : ''}` };
    });
    return this.deps.estate.dryRun ? results : this.withKeys(ctx, results);
  }

  /**
   * The last step says, per appliance, which userDataEncryptionKey it ends on, read live. It
   * matters most when the failure budget let the run go on without an appliance: that one is
   * still on the old key, and users already moved cannot log on through it.
   */
  private async withKeys(ctx: StepContext, results: TargetResult[]): Promise<TargetResult[]> {
    const { old, new: neu } = this.deps.estate.certs;
    const onNew: string[] = [];
    const notNew: string[] = [];
    for (const r of results) {
      const a = this.deps.estate.appliances.find((x) => x.name === r.target);
      const f = this.deps.facts.appliances.get(r.target);
      if (!a) continue;
      let keys: string;
      let isNew = false;
      try {
        const bound = await listUserDataEncryptionKeys(a.client);
        const label = (k: string) => (k === f?.newCertkey ? `${k} (new: ${neu.km.subject})` : k === f?.oldCertkey ? `${k} (old: ${old.km.subject})` : k);
        keys = bound.map(label).join(', ') || 'none';
        isNew = f?.newCertkey !== undefined && bound.includes(f.newCertkey) && !(f.oldCertkey && bound.includes(f.oldCertkey));
      } catch (err) {
        keys = `unknown (${describeError(err)})`;
      }
      (isNew ? onNew : notNew).push(`${r.target}: ${keys}`);
      r.message = this.deps.facts.excluded.has(r.target)
        ? `${r.message}; userDataEncryptionKey: ${keys} — users whose secrets were moved cannot log on through it until it is fixed and the cutover run again`
        : `${r.message}; userDataEncryptionKey: ${keys}`;
    }
    if (notNew.length) ctx.note('fleet', `not on the new key alone: ${notNew.join('; ')}${onNew.length ? `. On the new key: ${onNew.map((s) => s.split(':')[0]).join(', ')}` : ''}`, 'warn');
    else ctx.note('fleet', `every appliance is on the new key alone: ${onNew.map((s) => s.split(':')[0]).join(', ')}`);
    return results;
  }

  /** A save cannot be taken back; what is undone is the running configuration, saved again last. */
  async rollback(_ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return records.map((r) => ({ id: r.id, target: r.target, status: 'not-needed', message: 'saved configuration is saved again after the rollback' }));
  }

  async afterRollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    // Saving bakes the state into the next reboot: never a state that locks users out.
    const v = await checkInvariant(this.deps);
    if (!v.holds) return records.map((r) => ({ id: r.id, target: r.target, status: 'failed', message: `not saved again: ${v.message}` }));
    return undoEach(this.deps, ctx, records, 'save', async (a) => {
      await saveConfig(a.client);
      return { status: 'undone', message: 'configuration saved again with the rolled-back state' };
    });
  }
}

export class OtpEncryptionOnStep extends ApplianceStep implements Step {
  readonly kind = 'otp-encryption-on';
  readonly title = 'Turn OTP encryption on (set aaa otpParameter -encryption ON)';
  async plan(): Promise<StepPlan> {
    return {
      changes: this.deps.estate.appliances.map((a) => {
        const on = this.deps.facts.appliances.get(a.name)?.otpEncryption === 'ON';
        return on
          ? { target: a.name, description: 'OTP encryption is already ON' }
          : { target: a.name, summary: 'set OTP encryption ON', description: 'set OTP encryption ON (new registrations are encrypted with the bound key)' };
      }),
      warnings: [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    return forEachAppliance(this.deps, ctx, async (a) => {
      await ensurePrimary(a, ctx);
      const before = await getOtpParameters(a.client);
      if (before.encryption === 'ON') return { target: a.name, status: 'skipped', message: 'OTP encryption is already ON' };
      const change = await intend(ctx, a.name, 'set-encryption', { before: before.encryption ?? 'OFF' });
      const r = await journaledWrite(ctx, change.id, a, () => setOtpEncryption(a.client, 'ON'));
      await change.done({ applied: r.changed });
      return { target: a.name, status: 'ok', message: 'OTP encryption set ON' };
    });
  }

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return undoEach(this.deps, ctx, records, 'set-encryption', async (a, c) => {
      if (c.done?.applied === false) return { status: 'not-needed', message: 'encryption was not changed by this run' };
      const now = await getOtpParameters(a.client);
      if (now.encryption !== 'ON') return { status: 'not-needed', message: `OTP encryption is ${now.encryption ?? 'OFF'}` };
      await setOtpEncryption(a.client, 'OFF');
      return { status: 'undone', message: 'OTP encryption set back OFF' };
    });
  }
}
