// Import the new certificate and key on every appliance: upload under fresh names, add the
// certkey (or adopt one that already holds the same certificate), verify it, and on an HA pair
// push the files to the secondary and check they arrived.
import { createHash } from 'node:crypto';
import {
  certFactsFromCert, deleteCertkey, ensureCertkey, getCertkey, syncSslFiles, verifyFilesOnSecondary,
} from '../nitro/index.js';
import type { ChangeRecord, PlannedChange, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import { uniqueFileName, uploadUnique } from '../transfer/index.js';
import type { ApplianceHandle } from './estate.js';
import { newCertkeyName, type StepDeps } from './facts.js';
import { describeError, forEachAppliance } from './fleet.js';

const MAX_NAMES = 20;

export class ImportCertkeyStep implements Step {
  readonly kind = 'import-certkey';
  readonly title = 'Import the new certificate and key';
  constructor(readonly id: string, private readonly deps: StepDeps) {}

  targets(): string[] {
    return this.deps.estate.appliances.map((a) => a.name);
  }

  async plan(): Promise<StepPlan> {
    const name = newCertkeyName(this.deps);
    const c = this.deps.estate.certs.new;
    return {
      changes: this.deps.estate.appliances.map((a): PlannedChange => {
        const existing = this.deps.facts.appliances.get(a.name)?.newCertkey;
        return existing
          ? { target: a.name, description: `new certificate already loaded as certkey ${existing}: adopt it, upload nothing`, facts: { adopt: existing } }
          : { target: a.name, description: `upload ${c.inform === 'PFX' ? 'the PFX' : 'certificate and key'} to /nsconfig/ssl via ${a.transport.description.split(' ')[0]} and add certkey ${name} (${c.km.subject}, serial ${c.km.serial}, valid until ${c.km.notAfter.toISOString().slice(0, 10)})${a.target?.mode === 'ha' ? '; sync the files to the HA secondary' : ''}`, facts: { certkey: name } };
      }),
      warnings: [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    return forEachAppliance(this.deps, ctx, (a) => this.importOn(a, ctx));
  }

  private async importOn(a: ApplianceHandle, ctx: StepContext): Promise<TargetResult> {
    const facts = this.deps.facts.appliances.get(a.name);
    const adopt = facts?.newCertkey;
    if (adopt) return { target: a.name, status: 'skipped', message: `the new certificate is already loaded as certkey ${adopt}; adopted`, changed: { certkey: adopt } };
    const cert = this.deps.estate.certs.new;
    const certkey = newCertkeyName(this.deps);
    const when = new Date();
    const files: string[] = [];
    const upload = async (ext: string, bytes: Buffer) => {
      // Write-ahead: the prefix and time pin down the only names this upload can take, so a
      // rollback after a crash finds the file even though the reply never came.
      const id = await ctx.journal.intent(a.name, 'upload-file', { prefix: certkey, ext, when: when.toISOString(), sha256: sha256(bytes) });
      const up = await uploadUnique(a.transport, { prefix: certkey, ext, bytes, when, maxNames: MAX_NAMES });
      await ctx.journal.done(id, { name: up.name });
      files.push(up.name);
      return up.name;
    };
    const certFile = await upload(cert.inform === 'PFX' ? 'pfx' : 'pem', cert.certBytes);
    const keyFile = cert.inform === 'PFX' ? certFile : await upload('key', cert.keyBytes ?? cert.certBytes);
    const existedBefore = (await getCertkey(a.client, certkey)) !== undefined;
    const id = await ctx.journal.intent(a.name, 'add-certkey', { certkey, existedBefore, cert: certFile, key: keyFile });
    const res = await ensureCertkey(a.client, {
      certkey, cert: certFile, key: keyFile, inform: cert.inform, passphrase: cert.passphrase,
      local: certFactsFromCert(cert.km.certPem),
    });
    await ctx.journal.done(id, { certkey: res.certkey, created: res.created, adopted: res.adopted });
    if (facts) facts.newCertkey = res.certkey;
    let ha = '';
    if (a.target?.mode === 'ha' || a.target?.mode === 'cluster') {
      await syncSslFiles(a.client);
      const check = await verifyFilesOnSecondary(a.client, files, { timeoutMs: this.deps.params.haSyncTimeoutSec * 1000, intervalMs: 500 });
      if (check.secondaryUrl && check.missing.length) {
        throw new Error(`the HA secondary ${check.secondaryUrl} does not have ${check.missing.join(', ')} after the file sync (waited ${this.deps.params.haSyncTimeoutSec} s)`);
      }
      ha = check.secondaryUrl ? '; files synced to the secondary and seen there' : '; no secondary given to check the file sync on';
    }
    return {
      target: a.name, status: 'ok',
      message: res.created ? `certkey ${res.certkey} added from ${files.join(', ')} and verified${ha}` : `certkey ${res.certkey} already holds this certificate: adopted${ha}`,
      changed: { certkey: res.certkey, created: res.created, files },
    };
  }

  async verify(): Promise<void> {}

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    const out: RollbackResult[] = [];
    for (const r of records) {
      const a = this.deps.estate.appliances.find((x) => x.name === r.target);
      if (!a) {
        out.push({ id: r.id, target: r.target, status: 'failed', message: `appliance ${r.target} is no longer in the inventory` });
        continue;
      }
      try {
        out.push({ id: r.id, target: r.target, ...(await this.undo(a, r)) });
      } catch (err) {
        out.push({ id: r.id, target: r.target, status: 'failed', message: describeError(err) });
      }
    }
    return out;
  }

  private async undo(a: ApplianceHandle, r: ChangeRecord): Promise<Omit<RollbackResult, 'target' | 'id'>> {
    if (r.action === 'add-certkey') {
      const name = String(r.done?.['certkey'] ?? r.data['certkey']);
      const created = r.done ? r.done['created'] === true : r.data['existedBefore'] === false && (await getCertkey(a.client, name)) !== undefined;
      if (!created) return { status: 'not-needed', message: `certkey ${name} existed before this run: kept` };
      const removed = await deleteCertkey(a.client, name, { createdByThisRun: true });
      return { status: removed ? 'undone' : 'not-needed', message: removed ? `certkey ${name} deleted` : `certkey ${name} was already gone` };
    }
    if (r.action === 'upload-file') {
      const names = r.done?.['name'] ? [String(r.done['name'])]
        : Array.from({ length: MAX_NAMES }, (_, i) => uniqueFileName(String(r.data['prefix']), String(r.data['ext']), new Date(String(r.data['when'])), i + 1));
      const removed: string[] = [];
      for (const name of names) {
        const bytes = await a.transport.read(name);
        // Only a file holding exactly what this run uploaded is ours to delete.
        if (bytes && sha256(bytes) === r.data['sha256'] && (await a.transport.remove(name))) removed.push(name);
      }
      return removed.length
        ? { status: 'undone', message: `removed ${removed.join(', ')} from /nsconfig/ssl` }
        : { status: 'not-needed', message: 'no file of this run was left on the appliance' };
    }
    return { status: 'not-needed', message: `nothing to undo for ${r.action}` };
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
