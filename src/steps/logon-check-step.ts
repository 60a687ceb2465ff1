// The proof none of the existing tools give: a real OTP logon through every gateway with a
// canary user. The passcode comes from the canary's TOTP secret (inventory), or from its
// directory value decrypted with the key that should now be in force — which also proves the
// directory value is right. Each logon takes a canary of the pool whose code for the current
// TOTP step that gateway has not accepted yet (src/gateway/canary-pool.ts).
import { andFilter, equalityFilter, orFilter, valuesOf } from '../directory/index.js';
import { AdcError, InputError } from '../errors.js';
import { chooseCanary, logonCheck, systemClock, type PasscodeSource } from '../gateway/index.js';
import { FileAcceptedSteps } from '../gateway/totp-replay-store.js';
import { listUserDataEncryptionKeys } from '../nitro/index.js';
import { Keyring } from '../otp/index.js';
import type { RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import type { ApplianceHandle, Canary } from './estate.js';
import type { StepOptions } from '../playbook/playbook.js';
import type { StepDeps } from './facts.js';
import { otpActions, serverOfAction } from './directory-from-actions.js';
import { forEachAppliance } from './fleet.js';
import { ApplianceStep } from './appliance-step.js';

export class LogonCheckStep extends ApplianceStep implements Step {
  readonly kind = 'logon-check';
  private readonly accepted = new FileAcceptedSteps();
  readonly title: string;
  private readonly phase: StepOptions<'logon-check'>['phase'];
  constructor(id: string, deps: StepDeps<StepOptions<'logon-check'>>) {
    super(id, deps);
    this.phase = deps.with.phase;
    this.title = `OTP logon check through every gateway${this.phase ? ` (${this.phase})` : ''}`;
  }

  async plan(): Promise<StepPlan> {
    const { canary } = this.deps.estate;
    return {
      changes: [],
      warnings: canary ? [] : ['no canary user in the inventory: the logon checks are skipped'],
      ...(canary ? {} : { skipReason: 'no canary user' }),
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    const { canary } = this.deps.estate;
    if (!canary) return this.deps.estate.appliances.map((a) => ({ target: a.name, status: 'skipped', message: 'no canary user in the inventory' }));
    if (this.deps.estate.dryRun) return this.deps.estate.appliances.map((a) => ({ target: a.name, status: 'skipped', message: 'dry run: no logon attempted' }));
    return forEachAppliance(this.deps, ctx, (a) => this.checkOn(a, ctx));
  }

  private async checkOn(a: ApplianceHandle, ctx: StepContext): Promise<TargetResult> {
    const { canaries } = this.deps.estate;
    if (a.gateways.length === 0) return { target: a.name, status: 'skipped', message: 'no gateway URL for this appliance in the inventory' };
    const bound = await listUserDataEncryptionKeys(a.client);
    const f = this.deps.facts.appliances.get(a.name);
    const newKey = f?.newCertkey;
    // After the re-encryption, an appliance still on the old key alone (swap pending) cannot log
    // the canary on: that is the swap window, not a failure of this check.
    if (this.phase === 'after-rekey' && (!newKey || !bound.includes(newKey))) {
      return { target: a.name, status: 'skipped', message: 'the new key is not bound here yet (swap after re-encryption): checked at the end' };
    }
    const messages: string[] = [];
    let totpWaitMs = 0;
    for (const gw of a.gateways) {
      const choice = chooseCanary(canaries, gw, this.accepted, systemClock.now());
      const canary = choice.canary;
      if (choice.waitMs > 0 && canaries.length > 1) {
        ctx.note(a.name, `every canary (${canaries.length}) has logged on through ${gw} in this TOTP step: waiting ${Math.ceil(choice.waitMs / 1000)} s for the next one`);
      }
      const passcode = await this.passcodeSource(canary);
      const r = await logonCheck({
        gatewayUrl: gw,
        user: canary.user,
        password: canary.password,
        passcode,
        flow: canary.flow,
        tls: a.gatewayTls,
        onNote: (n) => ctx.note(a.name, n),
        acceptedSteps: choice.acceptedSteps,
      });
      totpWaitMs += r.totpWaitMs;
      if (r.outcome !== 'ok') throw new AdcError(`logon check of ${canary.user} through ${gw} failed: ${r.outcome}: ${r.message}${await this.readsFrom(a.name)}`);
      messages.push(`${gw}: ${r.flow} logon of ${canary.user} ok${r.kid ? ` (device under KID ${r.kid})` : ''}`);
    }
    // The wait for a fresh TOTP step is the gateway's pace, not ours: the report keeps it apart.
    return { target: a.name, status: 'ok', message: `${messages.join('; ')}${await this.readsFrom(a.name)}`, changed: { totpWaitMs } };
  }

  /**
   * Which directory server the check covered. A gateway does not say which server served a
   * logon, but the appliance's OTP LDAP action names the one it reads: with several servers,
   * that is what tells a check through this appliance from a check of the replica it reads.
   * Nothing is said when the actions could not be read or none names an OTP attribute.
   */
  private async readsFrom(appliance: string): Promise<string> {
    const { estate } = this.deps;
    const mine = otpActions((await estate.ldapActions()).filter((x) => x.appliance === appliance && !x.error));
    const servers = [...new Set(mine.map((o) => serverOfAction(estate.inventory.directory, o.action)))];
    if (servers.length === 0) return '';
    return servers.length === 1 ? ` (its LDAP action reads ${servers[0]})` : ` (its LDAP actions read ${servers.join(', ')})`;
  }

  private async passcodeSource(canary: Canary): Promise<PasscodeSource> {
    const { estate } = this.deps;
    if (canary.totpSecret) return { kind: 'secret', secret: canary.totpSecret };
    const dir = estate.inventory.directory;
    const client = await estate.directory();
    try {
      const entries = await client.search(dir.base, {
        scope: 'sub',
        filter: andFilter(dir.filter, orFilter([equalityFilter('sAMAccountName', canary.user), equalityFilter('userPrincipalName', canary.user)])),
        attributes: [dir.attribute],
      });
      if (entries.length !== 1) throw new InputError(`canary user "${canary.user}": ${entries.length} entries match under ${dir.base}`);
      const [value] = valuesOf(entries[0], dir.attribute);
      if (!value) throw new InputError(`canary user "${canary.user}" has no OTP device in ${dir.attribute}`);
      // The key that should be in force after this phase; the old one too while both are bound.
      const keys = this.phase === 'before' ? [estate.certs.old.km] : [estate.certs.new.km];
      return { kind: 'directory', value, keyring: new Keyring(keys) };
    } finally {
      await client.close();
    }
  }

  async rollback(): Promise<RollbackResult[]> {
    return [];
  }
}
