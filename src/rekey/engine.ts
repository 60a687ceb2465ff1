// The re-encryption engine: scan → decide → verify → back up → compare-and-swap → read back.
// One scanner connection streams pages into a bounded queue; N writer connections each take a
// group of entries, decide and re-encrypt the whole group at once (one AES call per key for its
// decryptions), check every new value with the target key before it is written, append the
// originals to the backup (one fsync for the group), send the group's modifies together, and
// read the group back with one search: a read-back byte-identical to the checked value is
// proven; anything else is decrypted and checked in full. Stopping (Ctrl-C, error budget, a
// lost server) lets in-flight groups finish and starts nothing new. Two groups are in flight per
// connection; the decide/re-encrypt/check of a group may run in a worker thread (cryptoWorkers).
import {
  CasConflict,
  DirectoryUnavailable,
  DryRunRefusal,
  NoSuchEntry,
  casReplace,
  countEntries,
  dnKey,
  readValue,
  readValues,
  scanPages,
  type DirectoryClient,
  type ScannedEntry,
} from '../directory/index.js';
import { InputError, errorCodes, errorMessage, type ErrorCodes } from '../errors.js';
import { kidsOf, verifySecrets, type DeviceOutcome } from '../otp/index.js';
import { BackupWriter, sha256Hex, type BackupRecord } from './backup.js';
import { prepareJob, type EntryPlan, type PreparedJob, type RekeyJob } from './job.js';
import { CryptoPool } from './crypto-pool.js';
import { Channel, RateLimiter } from './limits.js';
import { planAndCheck, type Planned } from './plan-check.js';
import { emptySummary, skip, tallyDevices, type EntryOutcome, type EntryReport, type RunProgress, type RunSummary, type StopReason } from './summary.js';
import { DEFAULT_CONCURRENCY } from './defaults.js';

export interface RekeyRunOptions {
  /** Opens one bound connection; called once for the scanner and once per writer. Dry run is the connection's. */
  connect: () => Promise<DirectoryClient>;
  base: string;
  filter?: string;
  attribute: string;
  job: RekeyJob;
  /** Where the originals go; required unless the connections are dry-run. Never overwritten. */
  backupFile?: string;
  /** Writer connections (default 4). */
  concurrency?: number;
  pageSize?: number;
  /** Entries per backup fsync, per batch of modifies and per read-back search (default 50). */
  groupSize?: number;
  /**
   * Groups in flight on each writer connection (default 2): while one group's modifies and
   * read-back are with the server, the next is re-encrypted, checked and backed up, so the
   * connection does not wait for the backup's fsync. Each group still has its originals on disk
   * before any of its modifies is sent.
   */
  groupsPerConnection?: number;
  /**
   * Worker threads for the decide + re-encrypt + pre-write check of each group (default 0: all
   * in this thread). Pays only with a core to spare beyond this thread's (and a local
   * directory's); the guarantees are the same either way.
   */
  cryptoWorkers?: number;
  /** Re-reads after a compare-and-swap conflict before reporting "kept changing" (default 3). */
  maxRetries?: number;
  /** Entries per second across all writers. */
  rate?: number;
  /** Stop once more than this many entries failed. */
  maxFailures?: number;
  /** Stop once more than this share of the entries done failed (checked after 20 entries). */
  maxFailureRatio?: number;
  /** Expected number of entries, for progress (from a census); counted when absent and onProgress is set. */
  total?: number;
  onProgress?: (p: RunProgress) => void;
  /**
   * Called once per entry, when its outcome is final (after the read-back, the undo or the last
   * retry), in the order entries finish. Called on the hot path: keep it quick. A throw stops the
   * run ('report-failed': in-flight writes finish, nothing new starts).
   */
  onEntry?: (e: EntryReport) => void;
  signal?: AbortSignal;
}

const CHANGED: EntryOutcome = Object.freeze({ kind: 'changed' });
const UNCHANGED: EntryOutcome = Object.freeze({ kind: 'unchanged' });
const NO_DEVICES: readonly DeviceOutcome[] = Object.freeze([]);

interface Write {
  dn: string;
  plan: Extract<EntryPlan, { kind: 'write' }>;
  /** sha256 of plan.newValue, computed once: the backup records it before and after the write. */
  sha?: string;
  /** plan.newValue passed the pre-write check (checkWrites): it reads as the original secrets. */
  checked?: true;
}

export async function runRekey(opts: RekeyRunOptions): Promise<RunSummary> {
  const started = Date.now();
  const job = prepareJob(opts.job);
  const groupSize = Math.max(1, opts.groupSize ?? 50);
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  const maxRetries = Math.max(0, opts.maxRetries ?? 3);
  const limiter = opts.rate && opts.rate > 0 ? new RateLimiter(opts.rate) : undefined;
  const scanOpts = { base: opts.base, filter: opts.filter, attribute: opts.attribute, pageSize: opts.pageSize };

  const scanner = await opts.connect();
  const conns: DirectoryClient[] = [];
  let pool: CryptoPool | undefined;
  let backup: BackupWriter | undefined;
  const summary = emptySummary(opts.job.kind, scanner.dryRun);
  try {
    if (!scanner.dryRun && !opts.backupFile) throw new InputError('a backup file is required for a run that writes (or make it a dry run)');
    const total = opts.total ?? (opts.onProgress ? await countEntries(scanner, scanOpts) : undefined);
    const pages = scanPages(scanner, scanOpts);
    const first = await pages.next();
    if (!first.done) checkKeysFit(job, first.value);
    if (!scanner.dryRun && opts.backupFile) {
      backup = await BackupWriter.create(opts.backupFile, { job: opts.job.kind, attribute: opts.attribute, base: opts.base, kids: job.kids, sealWith: job.sealWith });
      summary.backupFile = opts.backupFile;
    }
    for (let i = 0; i < concurrency; i++) conns.push(await opts.connect());
    if (opts.cryptoWorkers && opts.cryptoWorkers > 0) pool = new CryptoPool(opts.cryptoWorkers, opts.job, job);
    const run = new Run(opts, job, summary, backup, limiter, total, started, maxRetries, pool);
    await run.execute(pages, first.done ? [] : first.value, conns, groupSize);
  } finally {
    await Promise.all([scanner, ...conns].map((c) => c.close()));
    await pool?.close();
    await backup?.close();
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

/**
 * Fail fast on the wrong certificate: when the first page holds encrypted devices but none is
 * under a certificate we were given, the run would change nothing and say little.
 */
function checkKeysFit(job: PreparedJob, page: ScannedEntry[]): void {
  if (job.job.kind === 'encrypt') return;
  const ours = new Set(job.kids);
  const seen = new Map<string, number>();
  for (const e of page) {
    if (e.values.length !== 1) continue;
    let kids: string[];
    try {
      kids = kidsOf(e.values[0]);
    } catch {
      continue;
    }
    for (const k of kids) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  if (seen.size === 0 || [...seen.keys()].some((k) => ours.has(k))) return;
  const from = job.job.from.map((k) => `${k.subject} (KID ${k.kidText})`).join(', ');
  const found = [...seen.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  throw new InputError(
    `the certificate to decrypt with, ${from}, matches none of the encrypted devices in the first ${page.length} entries (they are under KID ${found}): is it the certificate the ADCs have bound? Nothing was changed.`,
  );
}

class Run {
  private stopReason: StopReason | undefined;
  private done = 0;
  private readonly channel: Channel<ScannedEntry[]>;

  constructor(
    private readonly opts: RekeyRunOptions,
    private readonly job: PreparedJob,
    private readonly summary: RunSummary,
    private readonly backup: BackupWriter | undefined,
    private readonly limiter: RateLimiter | undefined,
    private readonly total: number | undefined,
    private readonly started: number,
    private readonly maxRetries: number,
    private readonly pool: CryptoPool | undefined,
  ) {
    this.channel = new Channel(Math.max(2, (opts.concurrency ?? DEFAULT_CONCURRENCY) * Math.max(1, opts.groupsPerConnection ?? 2) * 2));
  }

  async execute(pages: AsyncGenerator<ScannedEntry[]>, firstPage: ScannedEntry[], conns: DirectoryClient[], groupSize: number): Promise<void> {
    const onAbort = () => this.stop('aborted', 'stopped on request: in-flight writes finished, nothing new started');
    if (this.opts.signal?.aborted) onAbort();
    this.opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const producer = this.produce(pages, firstPage, groupSize);
      const depth = Math.max(1, this.opts.groupsPerConnection ?? 2);
      await Promise.all([producer, ...conns.flatMap((c) => Array.from({ length: depth }, () => this.work(c)))]);
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  private stop(reason: StopReason, message: string, codes?: ErrorCodes): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.summary.stopped = { reason, message, ...(codes ? { codes } : {}) };
    this.channel.drain();
  }

  private async produce(pages: AsyncGenerator<ScannedEntry[]>, firstPage: ScannedEntry[], groupSize: number): Promise<void> {
    const pushPage = async (page: ScannedEntry[]): Promise<boolean> => {
      for (let i = 0; i < page.length; i += groupSize) {
        if (this.stopReason || !(await this.channel.push(page.slice(i, i + groupSize)))) return false;
      }
      return true;
    };
    try {
      if (!(await pushPage(firstPage))) return;
      for await (const page of pages) {
        if (!(await pushPage(page))) break;
      }
    } catch (err) {
      this.stop(err instanceof DirectoryUnavailable ? 'directory-unavailable' : 'aborted', `scan failed: ${errorMessage(err)}`, errorCodes(err));
    } finally {
      this.channel.close();
      if (this.stopReason) await pages.return(undefined).catch(() => undefined);
    }
  }

  private async work(conn: DirectoryClient): Promise<void> {
    for (;;) {
      const group = await this.channel.pop();
      if (!group) return;
      if (this.stopReason) return;
      if (this.limiter) await this.limiter.take(group.length);
      await this.processGroup(conn, group);
      this.progress();
    }
  }

  private progress(): void {
    if (!this.opts.onProgress) return;
    const secs = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = this.done / secs;
    const total = this.total !== undefined ? Math.max(this.total, this.done) : undefined;
    this.opts.onProgress({
      done: this.done,
      total,
      rate,
      ...(total !== undefined && rate > 0 ? { etaSec: (total - this.done) / rate } : {}),
      changed: this.summary.changed,
      failed: this.summary.failed.length,
    });
  }

  /** The end of one entry's story: counted once, with the devices of its final plan, and reported. */
  private finish(plan: EntryPlan, outcome: EntryOutcome, dn: string): void {
    this.done++;
    const devices = 'devices' in plan ? plan.devices : NO_DEVICES;
    tallyDevices(this.summary, devices);
    switch (outcome.kind) {
      case 'changed':
        this.summary.changed++;
        break;
      case 'unchanged':
        this.summary.unchanged++;
        break;
      case 'skipped':
        skip(this.summary, outcome.reason);
        break;
      case 'failed':
        this.fail(dn, outcome.reason, outcome.codes);
        break;
    }
    if (!this.opts.onEntry) return;
    try {
      this.opts.onEntry({ dn, outcome, devices });
    } catch (err) {
      // The callback is the caller's record of the run (a log): without it, do not go on writing.
      this.stop('report-failed', `reporting the outcome for ${dn} failed (${errorMessage(err)}); in-flight writes finished, nothing new started`);
    }
  }

  private finishFailed(plan: EntryPlan, reason: string, dn: string, codes?: ErrorCodes): void {
    this.finish(plan, { kind: 'failed', reason, ...(codes ? { codes } : {}) }, dn);
  }

  private fail(dn: string, reason: string, codes?: ErrorCodes): void {
    this.summary.failed.push({ dn, reason, ...(codes ? { codes } : {}) });
    const failed = this.summary.failed.length;
    const { maxFailures, maxFailureRatio } = this.opts;
    if (maxFailures !== undefined && failed > maxFailures) {
      this.stop('error-budget', `${failed} entries failed, more than the budget of ${maxFailures}`);
    } else if (maxFailureRatio !== undefined && this.done >= 20 && failed / this.done > maxFailureRatio) {
      this.stop('error-budget', `${failed} of ${this.done} entries failed, more than the budget of ${(maxFailureRatio * 100).toFixed(1)}%`);
    }
  }

  /** Routes a plan that needs no write to its count. */
  private settle(dn: string, plan: EntryPlan): Write | undefined {
    switch (plan.kind) {
      case 'unchanged':
        this.finish(plan, UNCHANGED, dn);
        return undefined;
      case 'skip':
        this.finish(plan, { kind: 'skipped', reason: plan.reason }, dn);
        return undefined;
      case 'refuse':
        this.finishFailed(plan, plan.reason, dn);
        return undefined;
      case 'write':
        return { dn, plan };
    }
  }

  private async processGroup(conn: DirectoryClient, group: ScannedEntry[]): Promise<void> {
    const values = group.map((e) => e.values);
    const { plans, bad }: Planned = this.pool ? await this.pool.plan(values) : planAndCheck(this.job, values);
    const settled: Write[] = [];
    const reasons: (string | undefined)[] = [];
    group.forEach((e, i) => {
      this.summary.fetched++;
      const w = this.settle(e.dn, plans[i]);
      if (w) {
        settled.push(w);
        reasons.push(bad[i]);
      }
    });
    const writes = this.checked(settled, reasons);
    if (writes.length === 0) return;
    if (!(await this.backUp(writes))) return;
    const results = await conn.batched(() => Promise.allSettled(writes.map((w) => casReplace(conn, w.dn, this.opts.attribute, w.plan.oldValue, w.plan.newValue))));
    const accepted: Write[] = [];
    const conflicts: Write[] = [];
    results.forEach((r, i) => {
      const w = writes[i];
      if (r.status === 'fulfilled') accepted.push(w);
      else if (r.reason instanceof CasConflict) conflicts.push(w);
      else if (r.reason instanceof DryRunRefusal) this.finish(w.plan, CHANGED, w.dn);
      else this.writeFailed(w, r.reason);
    });
    await this.afterWrites(conn, accepted);
    for (const w of conflicts) await this.retry(conn, w);
  }

  /**
   * Verification before the write: each new value, exactly as it will be sent, read with the
   * target key (every device decrypted, the secrets equal to the originals, device for device).
   * A value that fails is never written: reported, nothing to undo. `verdicts`: that check
   * already made with the plans (planAndCheck, here or in a pool thread), one per write.
   */
  private checked(writes: Write[], verdicts?: (string | undefined)[]): Write[] {
    if (writes.length === 0) return writes;
    const bad = verdicts ?? this.job.checkWrites(writes.map((w) => w.plan));
    const ok: Write[] = [];
    writes.forEach((w, i) => {
      const reason = bad[i];
      if (reason === undefined) {
        w.checked = true;
        ok.push(w);
      } else {
        this.finishFailed(w.plan, `verification failed before the write (${reason}); not written`, w.dn);
      }
    });
    return ok;
  }

  /** Originals on disk before any modify is sent; a backup that cannot be written stops the run. */
  private async backUp(writes: Write[]): Promise<boolean> {
    if (!this.backup) return true;
    const b = this.backup;
    try {
      await b.append([b.originals(writes.map((w) => ({ dn: w.dn, value: w.plan.oldValue, intended: (w.sha = sha256Hex(w.plan.newValue)) })))]);
      return true;
    } catch (err) {
      this.stop('backup-failed', errorMessage(err));
      for (const w of writes) this.finishFailed(w.plan, `not written: the backup could not be written (${errorMessage(err)})`, w.dn);
      return false;
    }
  }

  private writeFailed(w: Write, err: unknown): void {
    if (err instanceof DirectoryUnavailable) {
      this.stop('directory-unavailable', errorMessage(err), errorCodes(err));
      // A modify is atomic: the entry holds either the original or the new value; the backup has the original.
      this.finishFailed(
        w.plan,
        `outcome unknown, the directory went away during the write (the value is either the original or the fully re-keyed one; the backup holds the original): ${errorMessage(err)}`,
        w.dn,
        errorCodes(err),
      );
    } else {
      this.finishFailed(w.plan, errorMessage(err), w.dn, errorCodes(err));
    }
  }

  private async afterWrites(conn: DirectoryClient, accepted: Write[]): Promise<void> {
    if (accepted.length === 0) return;
    const written = this.backup?.append([{ type: 'written', entries: accepted.map((w) => ({ dn: w.dn, sha256: w.sha ?? sha256Hex(w.plan.newValue) })) } satisfies BackupRecord]);
    // Handled below, after the read-back; without a handler now, a failure (disk full) in the
    // meantime is an unhandled rejection and kills the process before it can roll back.
    written?.catch(() => undefined);
    let back: Map<string, string[]>;
    try {
      back = await readValues(
        conn,
        accepted.map((w) => w.dn),
        this.opts.attribute,
      );
    } catch (err) {
      if (err instanceof DirectoryUnavailable) this.stop('directory-unavailable', errorMessage(err), errorCodes(err));
      for (const w of accepted) this.finishFailed(w.plan, `written but not verified: the read-back failed (${errorMessage(err)})`, w.dn);
      await written?.catch(() => undefined);
      return;
    }
    for (const w of accepted) await this.verify(conn, w, back.get(dnKey(w.dn)));
    await written?.catch((err: unknown) => this.stop('backup-failed', errorMessage(err)));
  }

  private async verify(conn: DirectoryClient, w: Write, got: string[] | undefined): Promise<void> {
    if (!got) {
      this.finishFailed(w.plan, 'the entry vanished after the write', w.dn);
      return;
    }
    if (got.length === 1 && got[0] === w.plan.newValue) {
      // The proof that every secret survived: before the write, this exact string was read with
      // the target key (checked(): parsed as a reader parses it, every device decrypted, each
      // secret equal to the original, device for device); the directory now holds a single value
      // that is byte for byte that string, so reading it now gives the same devices and secrets.
      // Decrypting it again would only repeat the same computation on the same bytes. A read-back
      // that differs in any byte (corrupted, or another writer) takes the full check below.
      if (w.checked) {
        this.finish(w.plan, CHANGED, w.dn);
        return;
      }
      const bad = verifySecrets(got[0], this.job.verifyKeyring, w.plan.secrets);
      if (!bad) this.finish(w.plan, CHANGED, w.dn);
      else await this.undo(conn, w, bad);
      return;
    }
    // Someone wrote after us (a registration): what we moved must still be there and readable.
    const bad = got.length === 1 ? verifySecrets(got[0], this.job.anyKeyring, w.plan.secrets) : `the attribute now holds ${got.length} values`;
    if (!bad) this.finish(w.plan, CHANGED, w.dn);
    else this.finishFailed(w.plan, `changed by another writer right after our write, and ${bad}; not undone (the value is no longer ours)`, w.dn);
  }

  /** A write that did not verify: put the original back now, with compare-and-swap. */
  private async undo(conn: DirectoryClient, w: Write, bad: string): Promise<void> {
    try {
      await casReplace(conn, w.dn, this.opts.attribute, w.plan.newValue, w.plan.oldValue);
      await this.backup?.append([{ type: 'restored', dn: w.dn, reason: 'verification failed' }]);
      this.finishFailed(w.plan, `verification failed (${bad}); the original value was put back`, w.dn);
    } catch (err) {
      this.finishFailed(w.plan, `verification failed (${bad}) and putting the original back failed (${errorMessage(err)}): restore it from the backup`, w.dn);
    }
  }

  private async retry(conn: DirectoryClient, first: Write): Promise<void> {
    let w = first;
    for (let attempt = 1; attempt <= this.maxRetries; attempt++) {
      if (this.stopReason) {
        this.finishFailed(w.plan, 'changed during the run and not retried: the run was stopping', w.dn);
        return;
      }
      this.summary.retried++;
      let values: string[];
      try {
        values = await readValue(conn, w.dn, this.opts.attribute);
      } catch (err) {
        if (err instanceof NoSuchEntry) this.finishFailed(w.plan, 'the entry vanished during the run', w.dn);
        else this.writeFailed(w, err);
        return;
      }
      const next = this.settle(w.dn, this.job.plan(values));
      if (!next || this.checked([next]).length === 0) return;
      w = next;
      if (!(await this.backUp([w]))) return;
      try {
        await casReplace(conn, w.dn, this.opts.attribute, w.plan.oldValue, w.plan.newValue);
      } catch (err) {
        if (err instanceof CasConflict) continue;
        if (err instanceof DryRunRefusal) this.finish(w.plan, CHANGED, w.dn);
        else this.writeFailed(w, err);
        return;
      }
      await this.afterWrites(conn, [w]);
      return;
    }
    this.finishFailed(w.plan, `kept changing: ${this.maxRetries + 1} compare-and-swap attempts each found a different value`, w.dn);
  }
}
