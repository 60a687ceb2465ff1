// Unbinding the old key: the end of an overlap cutover, the first half of a swap. Guarded by a
// census: no device may still be under the old certificate.
import { bindUserDataEncryptionKey, listUserDataEncryptionKeys, unbindUserDataEncryptionKey } from '../nitro/index.js';
import { AdcError } from '../errors.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import { checkSecondaryBindings, ensurePrimary, forEachAppliance } from './fleet.js';
import { checkBindingsAfterRollback } from './binding-check.js';
import { journaledWrite, mayStillLand } from './late-writes.js';
import { unbindBreach } from './invariant.js';
import { awaitReplication, type GuardServer, type ReplicationWait } from './replication.js';
import { intend } from './records.js';
import { undoEach } from './undo.js';
import { ApplianceStep } from './appliance-step.js';

/**
 * The guard's record, as the step's `directory` target carries it into report.json: per server,
 * the devices under each certificate when the guard let the unbind go, and how long it waited.
 */
export type UnbindGuardRecord = { guard: GuardServer[] };

function guardResult(devices: ReplicationWait): TargetResult {
  const record: UnbindGuardRecord = { guard: devices.perServer };
  const waits = devices.perServer.map(
    (s) => `${s.server} ${s.waitedMs !== null ? `after ${(s.waitedMs / 1000).toFixed(1)} s` : s.error ? `unreachable${s.allowed ? ' (allowed)' : ''}` : 'not caught up'}`,
  );
  return { target: 'directory', status: 'ok', message: `the census let the unbind go: ${waits.join(', ')}`, changed: record };
}

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
          ? {
              target: a.name,
              summary: `unbind ${f.oldCertkey}`,
              description: `unbind ${f.oldCertkey}, after a census shows no device under the old certificate (${stillOld} today, re-encrypted before this step)`,
              facts: { unbind: f.oldCertkey },
            }
          : { target: a.name, description: 'the old key is not bound: nothing to do', facts: { unbind: null }, noChange: true };
      }),
      warnings: [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    const { estate } = this.deps;
    // The guard that makes unbinding safe, from a census of the whole directory taken now: no
    // device may be under the certificate the key holds (entries the run never wrote included).
    // With several directory servers, every one the appliances use must show it, so this waits
    // for replication (src/steps/replication.ts) and fails on a server it cannot read.
    const devices = estate.dryRun ? undefined : await awaitReplication(this.deps, ctx, 'old', { strict: true, purpose: 'unbinding the old key' });
    if (devices) {
      const left = devices.byKid.find((k) => k.kid === estate.certs.old.km.kidText)?.devices ?? 0;
      ctx.note(
        'directory',
        `census before unbinding: ${left ? `${left} device(s)` : 'no device'} under the old certificate (${devices.withValue} values checked${devices.servers.length > 1 ? `, on every one of ${devices.servers.map((s) => s.server).join(', ')}` : ''})`,
      );
    }
    const results = await forEachAppliance(this.deps, ctx, async (a) => {
      const f = this.deps.facts.appliances.get(a.name);
      const old = f?.oldCertkey;
      await ensurePrimary(a, ctx);
      const before = await listUserDataEncryptionKeys(a.client);
      if (!old || !before.includes(old)) return { target: a.name, status: 'skipped', message: 'the old key is not bound' };
      const breach = devices && (await unbindBreach(estate, a, old, devices));
      if (breach) throw new AdcError(`${breach}: not unbinding it (re-run the directory step, or look at the report's failures)`);
      const change = await intend(ctx, a.name, 'unbind', { certkey: old, boundBefore: before });
      const r = await journaledWrite(ctx, change.id, a, () => unbindUserDataEncryptionKey(a.client, old));
      await change.done({ applied: r.changed });
      if (f) f.bound = r.bound;
      if (f && r.changed) f.unboundByRun = [...(f.unboundByRun ?? []), old];
      const ha = await checkSecondaryBindings(a, r.bound);
      return { target: a.name, status: 'ok', message: `${old} unbound (bound now: ${r.bound.join(', ') || 'none'})${ha}`, changed: { bound: r.bound }, bound: r.bound };
    });
    // The guard's figures go first, as the census came first; a dry run takes none.
    return devices ? [guardResult(devices), ...results] : results;
  }

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return undoEach(this.deps, ctx, records, 'unbind', async (a, c) => {
      const key = c.data.certkey;
      if (c.done?.applied === false) return { status: 'not-needed', message: `${key} was not unbound by this run` };
      const now = await listUserDataEncryptionKeys(a.client);
      if (now.includes(key) && mayStillLand(a.client, c)) {
        // The unbind never showed, yet the appliance may still apply it: binding the old key
        // "again" changes nothing, and once the rest of the rollback has taken the new key away
        // and put the directory back under the old one, a late unbind would leave users with no
        // key that reads them. Keep the state that is safe whichever way the write goes.
        const why = `the unbind of ${key} on ${a.name} got no reply and may still be applied`;
        this.deps.facts.keepNewKey.push({ appliance: a.name, why });
        return {
          status: 'failed',
          message:
            `${why}: the new key is kept bound on every appliance and the directory under the new certificate, which is safe whether it lands or not. ` +
            `Check 'show vpn global' on ${a.name}; once nothing is pending there, run 'adc-cutover rollback ${ctx.runId}' again to finish the rollback (or keep the cutover: it is complete once ${key} is unbound)`,
        };
      }
      const b = await bindUserDataEncryptionKey(a.client, key);
      return b.changed ? { status: 'undone', message: `${key} bound again (bound now: ${b.bound.join(', ')})`, bound: b.bound } : { status: 'not-needed', message: `${key} is bound` };
    });
  }

  async afterRollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    return checkBindingsAfterRollback(this.deps, ctx, records);
  }
}
