// `-target_attribute`: the vendor tool's "write the result into another attribute". Copy
// semantics: the source value is read and never written; the target gets the job's result.
// The engine only rewrites the attribute it scans, so this runs its own loop, with the engine's
// guarantees: the target's original goes into the engine's sealed backup (fsync'd) before the
// write, the write is a compare-and-swap on the target as read, and the value read back must
// hold every device secret of the source, readable as the job wants; if not, it is undone.
import { CasConflict, DirectoryUnavailable, DryRunRefusal, casDelete, casReplace, readValue, scanPages, type DirectoryClient, type ScannedEntry } from '../directory/index.js';
import { errorMessage } from '../errors.js';
import { parseAttribute, readSecrets, verifySecrets } from '../otp/index.js';
import { BackupWriter, NO_VALUE, prepareJob, sha256Hex, type PreparedJob, type RekeyJob, type RunSummary } from '../rekey/index.js';
import type { EntryEvent } from './applog.js';
import { planEvent, unchangedText } from './outcomes.js';
import { DEFAULT_CONCURRENCY } from '../rekey/defaults.js';

export interface CopyRunOptions {
  connect: () => Promise<DirectoryClient>;
  base: string;
  filter?: string;
  /** Read from; never written. */
  attribute: string;
  /** Written to. */
  target: string;
  job: RekeyJob;
  /** Required unless the connections are dry-run; never overwritten. */
  backupFile?: string;
  concurrency?: number;
  pageSize?: number;
  onEntry: (e: EntryEvent) => void;
  signal?: AbortSignal;
}

export async function runCopy(opts: CopyRunOptions): Promise<RunSummary> {
  const started = Date.now();
  const job = prepareJob(opts.job);
  const scanner = await opts.connect();
  const summary: RunSummary = { job: opts.job.kind, dryRun: scanner.dryRun, fetched: 0, changed: 0, unchanged: 0, skipped: {}, failed: [], devices: {}, retried: 0, durationMs: 0 };
  const conns: DirectoryClient[] = [];
  let backup: BackupWriter | undefined;
  try {
    if (!scanner.dryRun) {
      if (!opts.backupFile) throw new Error('a backup file is required for a run that writes');
      // The header names the target: a restore of this backup puts the target's originals back.
      backup = await BackupWriter.create(opts.backupFile, { job: opts.job.kind, attribute: opts.target, base: opts.base, kids: job.kids, sealWith: job.sealWith });
      summary.backupFile = opts.backupFile;
    }
    const n = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
    for (let i = 0; i < n; i++) conns.push(await opts.connect());
    const copier = new Copier(opts, job, summary, backup);
    for await (const page of scanPages(scanner, { base: opts.base, filter: opts.filter, attribute: opts.attribute, extraAttributes: [opts.target], pageSize: opts.pageSize })) {
      let next = 0;
      await Promise.all(
        conns.map(async (c) => {
          while (next < page.length && !copier.stopping()) await copier.entry(c, page[next++]);
        }),
      );
      if (copier.stopping()) break;
    }
  } catch (err) {
    if (!(err instanceof DirectoryUnavailable) || summary.fetched === 0) throw err;
    summary.stopped ??= { reason: 'directory-unavailable', message: errorMessage(err) };
  } finally {
    await Promise.all([scanner, ...conns].map((c) => c.close()));
    await backup?.close();
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

class Copier {
  constructor(
    private readonly opts: CopyRunOptions,
    private readonly job: PreparedJob,
    private readonly summary: RunSummary,
    private readonly backup: BackupWriter | undefined,
  ) {}

  stopping(): boolean {
    if (this.opts.signal?.aborted && !this.summary.stopped) this.summary.stopped = { reason: 'aborted', message: 'stopped on request: in-flight writes finished, nothing new started' };
    return this.summary.stopped !== undefined;
  }

  private emit(e: EntryEvent): void {
    if (e.outcome === 'modified' || e.outcome === 'would-modify') this.summary.changed++;
    else if (e.outcome === 'failed') this.summary.failed.push({ dn: e.dn, reason: e.reason });
    this.opts.onEntry(e);
  }

  private leave(dn: string, countAs: string | undefined, reason: string): void {
    if (countAs === undefined) this.summary.unchanged++;
    else this.summary.skipped[countAs] = (this.summary.skipped[countAs] ?? 0) + 1;
    this.opts.onEntry({ dn, outcome: 'not-modified', reason });
  }

  async entry(conn: DirectoryClient, e: ScannedEntry): Promise<void> {
    this.summary.fetched++;
    const plan = this.job.plan(e.values);
    if ('devices' in plan) for (const d of plan.devices) this.summary.devices[d.action] = (this.summary.devices[d.action] ?? 0) + 1;
    let desired: string;
    let secrets: Map<string, string>;
    if (plan.kind === 'write') {
      desired = plan.newValue;
      secrets = plan.secrets;
    } else if (plan.kind === 'unchanged') {
      // The source is already what the job makes: the target gets a verbatim copy.
      desired = e.values.find((v) => v.length > 0)!;
      secrets = new Map(readSecrets(desired, this.job.verifyKeyring).devices.map((d) => [d.name, d.secret]));
    } else {
      const ev = planEvent(e.dn, plan, this.opts.job, this.summary.dryRun);
      if (plan.kind === 'skip') this.leave(e.dn, plan.reason, ev.reason);
      else this.emit(ev);
      return;
    }
    const target = (e.extra[this.opts.target] ?? []).filter((v) => v.length > 0);
    if (target.length > 1) {
      this.emit({ dn: e.dn, outcome: 'failed', reason: `${this.opts.target} holds ${target.length} values; not written (fix the entry by hand)` });
      return;
    }
    const current = target[0];
    if (current !== undefined) {
      if (current === desired || this.holdsCopy(current, secrets)) {
        this.leave(e.dn, undefined, `${this.opts.target} already holds the same devices${plan.kind === 'unchanged' ? ` (source ${unchangedText(this.opts.job.kind)})` : ''}`);
        return;
      }
      try {
        parseAttribute(current);
      } catch {
        // Someone's other data in the target: a copy must not destroy it.
        this.emit({ dn: e.dn, outcome: 'failed', reason: `${this.opts.target} holds a value that is not OTP data; not overwritten (clear it by hand if it is stale)` });
        return;
      }
    }
    const what = plan.kind === 'write' ? planEvent(e.dn, plan, this.opts.job, false).reason : 'copied as it is';
    await this.write(conn, e.dn, current, desired, secrets, `${this.opts.attribute} → ${this.opts.target}: ${what}`);
  }

  /** The target already holds exactly these devices, in the form the job produces. */
  private holdsCopy(value: string, secrets: Map<string, string>): boolean {
    let read;
    try {
      read = readSecrets(value, this.job.verifyKeyring);
    } catch {
      return false;
    }
    const j = this.opts.job;
    const formOk = j.kind === 'decrypt' ? read.format === 'legacy' : read.format === 'encrypted' && read.devices.every((d) => d.kid === j.to.kidText);
    return formOk && read.devices.length === secrets.size && read.devices.every((d) => secrets.get(d.name) === d.secret);
  }

  private async write(conn: DirectoryClient, dn: string, current: string | undefined, desired: string, secrets: Map<string, string>, what: string): Promise<void> {
    const target = this.opts.target;
    const sha = sha256Hex(desired);
    try {
      // An absent target is backed up as NO_VALUE: its undo (runRestore) deletes what we added.
      await this.backup?.append([this.backup.originals([{ dn, value: current ?? NO_VALUE, intended: sha }])]);
    } catch (err) {
      this.summary.stopped ??= { reason: 'backup-failed', message: errorMessage(err) };
      this.emit({ dn, outcome: 'failed', reason: `not written: the backup could not be written (${errorMessage(err)})` });
      return;
    }
    try {
      await casReplace(conn, dn, target, current, desired);
    } catch (err) {
      if (err instanceof DryRunRefusal) this.emit({ dn, outcome: 'would-modify', reason: what });
      else if (err instanceof CasConflict) this.emit({ dn, outcome: 'failed', reason: `${target} changed during the run; not overwritten (run again)` });
      else {
        if (err instanceof DirectoryUnavailable) this.summary.stopped ??= { reason: 'directory-unavailable', message: errorMessage(err) };
        this.emit({ dn, outcome: 'failed', reason: errorMessage(err) });
      }
      return;
    }
    const written = this.backup?.append([{ type: 'written', entries: [{ dn, sha256: sha }] }]);
    let back: string[];
    try {
      back = await readValue(conn, dn, target);
    } catch (err) {
      await written?.catch(() => undefined);
      this.emit({ dn, outcome: 'failed', reason: `written but not verified: the read-back failed (${errorMessage(err)})` });
      return;
    }
    await written?.catch((err: unknown) => (this.summary.stopped ??= { reason: 'backup-failed', message: errorMessage(err) }));
    const bad = back.length === 1 && back[0] === desired ? verifySecrets(desired, this.job.verifyKeyring, secrets) : `${target} does not hold what was written`;
    if (!bad) {
      this.emit({ dn, outcome: 'modified', reason: what });
      return;
    }
    if (!(back.length === 1 && back[0] === desired)) {
      this.emit({ dn, outcome: 'failed', reason: `changed by another writer right after our write (${bad}); not undone` });
      return;
    }
    await this.undo(conn, dn, current, desired, bad);
  }

  /** A write that did not verify: put the target back as it was, with compare-and-swap. */
  private async undo(conn: DirectoryClient, dn: string, current: string | undefined, desired: string, bad: string): Promise<void> {
    const target = this.opts.target;
    try {
      if (current !== undefined) await casReplace(conn, dn, target, desired, current);
      else await casDelete(conn, dn, target, desired);
      await this.backup?.append([{ type: 'restored', dn, reason: 'verification failed' }]);
      this.emit({ dn, outcome: 'failed', reason: `verification failed (${bad}); ${target} was put back as it was` });
    } catch (err) {
      this.emit({ dn, outcome: 'failed', reason: `verification failed (${bad}) and putting ${target} back failed (${errorMessage(err)}): restore it from the backup` });
    }
  }
}
