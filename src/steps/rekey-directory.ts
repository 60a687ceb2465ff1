// Re-encrypt the directory: every device under the old certificate (and legacy plaintext when
// asked) moves to the new one, compare-and-swap per entry, backup first, each write verified.
// Rollback restores from this run's backups, only where the value is still what we wrote.
import { existsSync } from 'node:fs';
import { AdcError, EXIT, mergeCodes } from '../errors.js';
import { runRekey, runRestore, type RekeyJob, type RunSummary } from '../rekey/index.js';
import type { JsonObject } from '../runner/json.js';
import type { ChangeRecord, RollbackResult, Step, StepContext, StepPlan, TargetResult } from '../runner/step.js';
import { census } from '../directory/index.js';
import type { StepOptions } from '../playbook/playbook.js';
import type { StepDeps } from './facts.js';
import { censusJson } from './facts-json.js';
import { intend, typedChange } from './records.js';
import { freshBackupPath } from './sweep.js';
import { recordCensusOptions } from './kid-census.js';

export class RekeyDirectoryStep implements Step {
  readonly kind = 'rekey-directory';
  readonly title: string;
  private readonly job: 'rekey' | 'encrypt';
  constructor(
    readonly id: string,
    private readonly deps: StepDeps<StepOptions<'rekey-directory'>>,
  ) {
    this.job = deps.with.job === 'encrypt-legacy' ? 'encrypt' : 'rekey';
    this.title = this.job === 'encrypt' ? 'Encrypt legacy plaintext OTP values in the directory' : 'Re-encrypt the directory under the new certificate';
  }

  targets(): string[] {
    return ['directory'];
  }

  async plan(): Promise<StepPlan> {
    const c = this.deps.facts.census;
    const { old, new: neu } = this.deps.estate.certs;
    const oldDevices = c?.byKid.find((k) => k.kid === old.km.kidText);
    const legacy = c?.legacy ?? { entries: 0, devices: 0 };
    const description =
      this.job === 'encrypt'
        ? `encrypt ${legacy.devices} legacy device(s) in ${legacy.entries} entr(ies) under ${neu.km.subject}`
        : `re-encrypt ${oldDevices?.devices ?? 0} device(s) in ${oldDevices?.entries ?? 0} entr(ies) from KID ${old.km.kidText} to ${neu.km.kidText}${this.deps.params.includeLegacy ? `, and encrypt ${legacy.devices} legacy device(s)` : ''}; backup first, compare-and-swap, every write read back and verified`;
    return {
      changes: [{ target: 'directory', description, facts: { kids: (c?.byKid ?? []).map((k) => k.kid).sort() } }],
      warnings: c && c.unreadable.entries ? [`${c.unreadable.entries} unreadable value(s) will be left as they are`] : [],
    };
  }

  async apply(ctx: StepContext): Promise<TargetResult[]> {
    const { estate, params } = this.deps;
    const dir = estate.inventory.directory;
    const backupFile = estate.dryRun ? undefined : freshBackupPath(ctx.runDir);
    const job: RekeyJob =
      this.job === 'encrypt' ? { kind: 'encrypt', to: estate.certs.new.km } : { kind: 'rekey', from: [estate.certs.old.km], to: estate.certs.new.km, includeLegacy: params.includeLegacy };
    const change = estate.dryRun ? undefined : await intend(ctx, 'directory', this.job, { backupFile: backupFile ?? null, base: dir.base, filter: dir.filter, attribute: dir.attribute });
    const summary = await runRekey({
      connect: estate.directory,
      base: dir.base,
      filter: dir.filter,
      attribute: dir.attribute,
      job,
      backupFile,
      concurrency: params.concurrency ?? dir.concurrency,
      pageSize: dir.pageSize,
      rate: params.rate,
      maxFailures: params.maxFailures,
      total: this.deps.facts.census?.withValue,
      onProgress: (p) => ctx.progress('directory', { done: p.done, total: p.total ?? p.done, rate: p.rate, etaSec: p.etaSec, detail: `${p.changed} changed, ${p.failed} failed` }),
      signal: ctx.signal,
    });
    await change?.done(summaryJson(summary));
    const message = describe(summary);
    if (summary.stopped && summary.stopped.reason !== 'aborted') {
      throw new AdcError(`${summary.stopped.message}; ${message}`, EXIT.failedRolledBack, { codes: mergeCodes([summary.stopped.codes, ...summary.failed.map((f) => f.codes)]) });
    }
    if (summary.failed.length > params.maxFailures) {
      const some = summary.failed
        .slice(0, 5)
        .map((f) => `${f.dn}: ${f.reason}`)
        .join('; ');
      throw new AdcError(`${summary.failed.length} entr(ies) failed (budget ${params.maxFailures}): ${some}${summary.failed.length > 5 ? '; …' : ''}`, EXIT.failedRolledBack, {
        codes: mergeCodes(summary.failed.map((f) => f.codes)),
      });
    }
    // The census after the run, for the change record: devices per certificate once it is done.
    const client = await estate.directory();
    try {
      const after = await census(client, recordCensusOptions(estate));
      return [{ target: 'directory', status: 'ok', message, changed: { ...summaryJson(summary), censusAfter: censusJson(after) } }];
    } finally {
      await client.close();
    }
  }

  /** The engine itself, against a connection that refuses writes: real counts of what would change. */
  dryRun(ctx: StepContext): Promise<TargetResult[]> {
    return this.apply(ctx);
  }

  async rollback(ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
    const { estate } = this.deps;
    const out: RollbackResult[] = [];
    const keep = this.deps.facts.keepNewKey;
    for (const r of records) {
      const c = typedChange(r);
      const backupFile = c.action === 'rekey' || c.action === 'encrypt' ? c.data.backupFile : null;
      if (keep.length && typeof backupFile === 'string' && existsSync(backupFile)) {
        out.push({ id: r.id, target: 'directory', status: 'failed', message: `kept under the new certificate (the backup ${backupFile} was not put back): ${keep.map((k) => k.why).join('; ')}` });
        continue;
      }
      if (typeof backupFile !== 'string' || !existsSync(backupFile)) {
        out.push({ id: r.id, target: 'directory', status: 'not-needed', message: 'no backup was written: nothing was changed' });
        continue;
      }
      const t0 = Date.now();
      const s = await runRestore({
        connect: estate.directory,
        backupFile,
        keys: [estate.certs.old.km, estate.certs.new.km],
        reencryptChangedUnder: estate.certs.old.km,
        onProgress: (p) => ctx.progress('directory', { done: p.done, total: p.total ?? p.done, rate: p.rate, detail: 'restoring' }),
      });
      const since = s.changedSince.length ? `; ${s.changedSince.length} entr(ies) changed since the run and had their devices re-encrypted under the old key instead` : '';
      const ms = Date.now() - t0;
      out.push(
        s.failed.length
          ? {
              id: r.id,
              target: 'directory',
              status: 'failed',
              message: `restore from ${backupFile} left ${s.failed.length} entr(ies) as they are: ${s.failed
                .slice(0, 5)
                .map((f) => `${f.dn}: ${f.reason}`)
                .join('; ')}`,
              ms,
            }
          : { id: r.id, target: 'directory', status: s.changed ? 'undone' : 'not-needed', message: `${s.changed} original value(s) put back from ${backupFile}${since}`, ms },
      );
    }
    return out;
  }
}

function describe(s: RunSummary): string {
  const skipped = Object.entries(s.skipped)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return `${s.fetched} fetched, ${s.changed} ${s.dryRun ? 'would change' : 'changed'}, ${s.unchanged} unchanged${skipped ? `, skipped: ${skipped}` : ''}, ${s.failed.length} failed, ${s.retried} retried after a concurrent change (${(s.durationMs / 1000).toFixed(1)} s)`;
}

export function summaryJson(s: RunSummary): JsonObject {
  return {
    fetched: s.fetched,
    changed: s.changed,
    unchanged: s.unchanged,
    skipped: s.skipped,
    failed: s.failed.length,
    failedEntries: s.failed.slice(0, 50).map((f) => ({ dn: f.dn, reason: f.reason })),
    devices: s.devices,
    retried: s.retried,
    durationMs: s.durationMs,
    dryRun: s.dryRun,
    ...(s.stopped ? { stopped: s.stopped.reason } : {}),
  };
}
