// Saving the configuration, and turning OTP encryption on (for directories still in plaintext).
import { getOtpParameters, saveConfig, setOtpEncryption } from '../nitro/index.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import type { StepDeps } from './facts.js';
import { forEachAppliance } from './fleet.js';
import { undoEach } from './undo.js';

export class SaveConfigStep implements Step {
  readonly kind = 'save-config';
  readonly title = 'Save the configuration';
  constructor(readonly id: string, private readonly deps: StepDeps) {}

  targets(): string[] {
    return this.deps.estate.appliances.map((a) => a.name);
  }

  async plan(): Promise<StepPlan> {
    return { changes: this.deps.estate.appliances.map((a) => ({ target: a.name, description: 'save ns config' })), warnings: [] };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    return forEachAppliance(this.deps, ctx, async (a) => {
      await a.client.recheckPrimary();
      const id = await ctx.journal.intent(a.name, 'save', {});
      const after = await saveConfig(a.client);
      await ctx.journal.done(id, { lastconfigsavetime: after.lastconfigsavetime ?? null });
      return { target: a.name, status: 'ok', message: `configuration saved${after.lastconfigsavetime ? ` at ${after.lastconfigsavetime}` : ''}` };
    });
  }

  async verify(): Promise<void> {}

  /** A save cannot be taken back; what is undone is the running configuration, saved again last. */
  async rollback(_ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return records.map((r) => ({ id: r.id, target: r.target, status: 'not-needed', message: 'saved configuration is saved again after the rollback' }));
  }

  async afterRollback(_ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return undoEach(this.deps, records, async (a) => {
      await saveConfig(a.client);
      return { status: 'undone', message: 'configuration saved again with the rolled-back state' };
    });
  }
}

export class OtpEncryptionOnStep implements Step {
  readonly kind = 'otp-encryption-on';
  readonly title = 'Turn OTP encryption on (set aaa otpParameter -encryption ON)';
  constructor(readonly id: string, private readonly deps: StepDeps) {}

  targets(): string[] {
    return this.deps.estate.appliances.map((a) => a.name);
  }

  async plan(): Promise<StepPlan> {
    return {
      changes: this.deps.estate.appliances.map((a) => {
        const on = this.deps.facts.appliances.get(a.name)?.otpEncryption === 'ON';
        return { target: a.name, description: on ? 'OTP encryption is already ON' : 'set OTP encryption ON (new registrations are encrypted with the bound key)' };
      }),
      warnings: [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    return forEachAppliance(this.deps, ctx, async (a) => {
      await a.client.recheckPrimary();
      const before = await getOtpParameters(a.client);
      if (before.encryption === 'ON') return { target: a.name, status: 'skipped', message: 'OTP encryption is already ON' };
      const id = await ctx.journal.intent(a.name, 'set-encryption', { before: before.encryption ?? 'OFF' });
      const r = await setOtpEncryption(a.client, 'ON');
      await ctx.journal.done(id, { applied: r.changed });
      return { target: a.name, status: 'ok', message: 'OTP encryption set ON' };
    });
  }

  async verify(): Promise<void> {}

  async rollback(_ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return undoEach(this.deps, records, async (a, r) => {
      if (r.done && r.done['applied'] === false) return { status: 'not-needed', message: 'encryption was not changed by this run' };
      const now = await getOtpParameters(a.client);
      if (now.encryption !== 'ON') return { status: 'not-needed', message: `OTP encryption is ${now.encryption ?? 'OFF'}` };
      await setOtpEncryption(a.client, 'OFF');
      return { status: 'undone', message: 'OTP encryption set back OFF' };
    });
  }
}
