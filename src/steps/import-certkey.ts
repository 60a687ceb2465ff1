// Import the new certificate and key on every appliance: upload under fresh names, add the
// certkey (or adopt one that already holds the same certificate), verify it, and on an HA pair
// push the files to the secondary and check they arrived.
import { createHash } from 'node:crypto';
import { certFactsFromCert, deleteCertkey, ensureCertkey, getCertkey, listSystemFiles, syncSslFiles, verifyFilesOnSecondary } from '../nitro/index.js';
import { AdcError } from '../errors.js';
import type { ChangeRecord, PlannedChange, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import { uniqueFileName, uploadUnique } from '../transfer/index.js';
import type { ApplianceHandle } from './estate.js';
import { newCertkeyName } from './facts.js';
import { describeError, ensurePrimary, forEachAppliance } from './fleet.js';
import { journaledWrite, unlessStillPending, waitOutLateWrite } from './late-writes.js';
import { ApplianceStep } from './appliance-step.js';
import { intend, typedChange, type StepChange } from './records.js';
import type { UndoOutcome } from './undo.js';

const MAX_NAMES = 20;

export class ImportCertkeyStep extends ApplianceStep implements Step {
  readonly kind = 'import-certkey';
  readonly title = 'Import the new certificate and key';
  async plan(): Promise<StepPlan> {
    const name = newCertkeyName(this.deps);
    return {
      changes: this.deps.estate.appliances.map((a): PlannedChange => {
        const existing = this.deps.facts.appliances.get(a.name)?.newCertkey;
        return existing
          ? { target: a.name, description: `new certificate already loaded as certkey ${existing}: adopt it, upload nothing`, facts: { adopt: existing }, noChange: true }
          : this.uploadPlan(a, name);
      }),
      warnings: [],
    };
  }

  private uploadPlan(a: ApplianceHandle, name: string): PlannedChange {
    const c = this.deps.estate.certs.new;
    const summary = `upload ${c.inform === 'PFX' ? 'the PFX' : 'certificate and key'} to /nsconfig/ssl via ${a.transport.description.split(' ')[0]} and add certkey ${name}`;
    const ha = a.target?.mode === 'ha' ? '; sync the files to the HA secondary' : '';
    return { target: a.name, summary, description: `${summary} (${c.km.subject}, serial ${c.km.serial}, valid until ${c.km.notAfter.toISOString().slice(0, 10)})${ha}`, facts: { certkey: name } };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    return forEachAppliance(this.deps, ctx, (a) => this.importOn(a, ctx));
  }

  private async importOn(a: ApplianceHandle, ctx: StepContext): Promise<TargetResult> {
    const facts = this.deps.facts.appliances.get(a.name);
    const adopt = facts?.newCertkey;
    if (adopt) return { target: a.name, status: 'skipped', message: `the new certificate is already loaded as certkey ${adopt}; adopted`, changed: { certkey: adopt } };
    await ensurePrimary(a, ctx);
    const cert = this.deps.estate.certs.new;
    const certkey = newCertkeyName(this.deps);
    const when = new Date();
    const files: string[] = [];
    const upload = async (ext: string, bytes: Buffer) => {
      // Write-ahead: the prefix and time pin down the only names this upload can take, so a
      // rollback after a crash finds the file even though the reply never came.
      const change = await intend(ctx, a.name, 'upload-file', { prefix: certkey, ext, when: when.toISOString(), sha256: sha256(bytes) });
      const up = await journaledWrite(ctx, change.id, a, () => uploadUnique(a.transport, { prefix: certkey, ext, bytes, when, maxNames: MAX_NAMES }));
      await change.done({ name: up.name });
      files.push(up.name);
      return up.name;
    };
    const certFile = await upload(cert.inform === 'PFX' ? 'pfx' : 'pem', cert.certBytes);
    const keyFile = cert.inform === 'PFX' ? certFile : await upload('key', cert.keyBytes ?? cert.certBytes);
    const existedBefore = (await getCertkey(a.client, certkey)) !== undefined;
    const change = await intend(ctx, a.name, 'add-certkey', { certkey, existedBefore, cert: certFile, key: keyFile });
    const res = await journaledWrite(ctx, change.id, a, () =>
      ensureCertkey(a.client, {
        certkey,
        cert: certFile,
        key: keyFile,
        inform: cert.inform,
        passphrase: cert.passphrase,
        local: certFactsFromCert(cert.km.certPem),
      }),
    );
    await change.done({ certkey: res.certkey, created: res.created, adopted: res.adopted });
    if (facts) facts.newCertkey = res.certkey;
    let ha = '';
    if (a.target?.mode === 'ha' || a.target?.mode === 'cluster') {
      await syncSslFiles(a.client);
      // A failover during the upload leaves the files on the node that is secondary now and the
      // certkey (propagated config) pointing at files the new primary lacks: look at both nodes.
      const primaryBefore = a.target.primaryUrl;
      await ensurePrimary(a, ctx);
      if (a.target.primaryUrl !== primaryBefore) {
        const onPrimary = new Set((await listSystemFiles(a.client, undefined, { node: a.target.primaryUrl })).map((f) => f.filename));
        const lacking = files.filter((n) => !onPrimary.has(n));
        if (lacking.length)
          throw new AdcError(`${a.name}: the pair failed over during the import and the new primary ${a.target.primaryUrl} lacks ${lacking.join(', ')}: certkey ${res.certkey} would not load there`);
      }
      const check = await verifyFilesOnSecondary(a.client, files, { timeoutMs: this.deps.params.haSyncTimeoutSec * 1000, intervalMs: 500 });
      if (check.secondaryUrl && check.missing.length) {
        throw new Error(`the HA secondary ${check.secondaryUrl} does not have ${check.missing.join(', ')} after the file sync (waited ${this.deps.params.haSyncTimeoutSec} s)`);
      }
      ha = check.secondaryUrl ? '; files synced to the secondary and seen there' : '; no secondary given to check the file sync on';
    }
    return {
      target: a.name,
      status: 'ok',
      message: res.created ? `certkey ${res.certkey} added from ${files.join(', ')} and verified${ha}` : `certkey ${res.certkey} already holds this certificate: adopted${ha}`,
      changed: { certkey: res.certkey, created: res.created, files },
    };
  }

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    const out: RollbackResult[] = [];
    const removedOn = new Map<ApplianceHandle, string[]>();
    const keptCertkey = new Map<string, string>();
    for (const r of records) {
      const a = this.deps.estate.appliances.find((x) => x.name === r.target);
      if (!a) {
        out.push({ id: r.id, target: r.target, status: 'failed', message: `appliance ${r.target} is no longer in the inventory` });
        continue;
      }
      const t0 = Date.now();
      let c: StepChange;
      try {
        c = typedChange(r);
      } catch (err) {
        out.push({ id: r.id, target: r.target, status: 'failed', message: describeError(err) });
        continue;
      }
      const keep = this.deps.facts.keepNewKey;
      if (keep.length) {
        out.push({
          id: r.id,
          target: r.target,
          status: 'failed',
          message: `kept (${r.action === 'add-certkey' ? 'the new certkey' : 'its file'}): the new key stays bound — ${keep.map((k) => k.why).join('; ')}`,
        });
        continue;
      }
      if (r.action === 'upload-file' && keptCertkey.has(r.target)) {
        // The certkey still loads from these files: removing them would break it at the next reboot.
        out.push({ id: r.id, target: r.target, status: 'failed', message: `file kept: certkey ${keptCertkey.get(r.target)} still uses it and was not deleted` });
        continue;
      }
      try {
        // A failover since the import: undo on whichever node is primary now.
        await a.client.recheckPrimary().catch(() => undefined);
        await waitOutLateWrite(a, c, ctx);
        const res = unlessStillPending(a, c, await this.undo(a, c), ctx.runId);
        if (res.removed?.length) removedOn.set(a, [...(removedOn.get(a) ?? []), ...res.removed]);
        const { removed: _files, ...result } = res;
        out.push({ id: r.id, target: r.target, ...result, ms: Date.now() - t0 });
      } catch (err) {
        if (c.action === 'add-certkey') keptCertkey.set(r.target, c.done?.certkey ?? c.data.certkey);
        out.push({ id: r.id, target: r.target, status: 'failed', message: describeError(err), ms: Date.now() - t0 });
      }
    }
    for (const [a, names] of removedOn) out.push(await this.unsyncSecondary(a, names));
    return out;
  }

  /**
   * The secondary of an HA pair got the files by file sync; deleting them on the primary leaves
   * the copies there until the next sync. Force it (the sync mirrors the primary's directory),
   * then read the secondary to prove they are gone, so both nodes end as they began.
   */
  private async unsyncSecondary(a: ApplianceHandle, names: string[]): Promise<RollbackResult> {
    const t = a.client.target;
    if (t?.mode !== 'ha' && t?.mode !== 'cluster') return { target: a.name, status: 'not-needed', message: 'no HA secondary to clean' };
    try {
      await syncSslFiles(a.client);
      if (!t.secondaryUrl) return { target: a.name, status: 'undone', message: `file sync forced; the secondary's URL is not known, so ${names.join(', ')} could not be checked there` };
      const deadline = Date.now() + this.deps.params.haSyncTimeoutSec * 1000;
      for (;;) {
        const left = (await listSystemFiles(a.client, undefined, { node: t.secondaryUrl })).map((f) => f.filename).filter((n) => names.includes(n));
        if (!left.length) return { target: a.name, status: 'undone', message: `file sync forced: ${names.join(', ')} gone from the HA secondary ${t.secondaryUrl} too` };
        if (Date.now() >= deadline)
          return {
            target: a.name,
            status: 'failed',
            message: `the HA secondary ${t.secondaryUrl} still has ${left.join(', ')} after a forced file sync: delete them there (or sync HA files) by hand`,
          };
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (err) {
      return { target: a.name, status: 'failed', message: `file sync to the HA secondary after removing ${names.join(', ')}: ${describeError(err)}` };
    }
  }

  private async undo(a: ApplianceHandle, r: StepChange): Promise<UndoOutcome & { removed?: string[] }> {
    if (r.action === 'add-certkey') {
      const name = r.done?.certkey ?? r.data.certkey;
      const present = r.done ? true : (await getCertkey(a.client, name)) !== undefined;
      const created = r.done ? r.done.created : !r.data.existedBefore && present;
      if (!created && !r.data.existedBefore && !present) {
        // An add still in flight needs its files: once they are gone, the appliance refuses it (1647).
        const files = [r.data.cert, r.data.key];
        const gone = (await Promise.all(files.map((f) => a.transport.read(f)))).every((b) => b === undefined);
        return { status: 'not-needed', message: `certkey ${name} is not there${gone ? ' (and the files it would load are gone, so no add of it can land)' : ''}`, ...(gone ? { settled: true } : {}) };
      }
      if (!created) return { status: 'not-needed', message: `certkey ${name} existed before this run: kept` };
      const removed = await deleteCertkey(a.client, name, { createdByThisRun: true });
      return removed ? { status: 'undone', message: `certkey ${name} deleted`, certkeyDeleted: name } : { status: 'not-needed', message: `certkey ${name} was already gone` };
    }
    if (r.action === 'upload-file') {
      const { prefix, ext, when } = r.data;
      const names = r.done?.name ? [r.done.name] : Array.from({ length: MAX_NAMES }, (_, i) => uniqueFileName(prefix, ext, new Date(when), i + 1));
      const removed: string[] = [];
      for (const name of names) {
        const bytes = await a.transport.read(name);
        // Only a file holding exactly what this run uploaded is ours to delete.
        if (bytes && sha256(bytes) === r.data.sha256 && (await a.transport.remove(name))) removed.push(name);
      }
      return removed.length
        ? { status: 'undone', message: `removed ${removed.join(', ')} from /nsconfig/ssl`, removed }
        : { status: 'not-needed', message: 'no file of this run was left on the appliance' };
    }
    return { status: 'not-needed', message: `nothing to undo for ${r.action}` };
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
