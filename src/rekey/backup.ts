// The run's backup: every original value, appended and fsync'd BEFORE the write that replaces
// it is sent, sealed with AES-256-GCM under a key only the holder of the old certificate can
// derive. JSON lines: a header, then records. DNs stay in clear so an operator can grep for a
// user; values never do. Concurrent workers share one file: their appends are coalesced into
// one write + fsync (group commit), so durability costs one fsync per batch, not per user.
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AdcError, InputError, errorMessage } from '../errors.js';
import type { OtpKeyMaterial } from '../otp/index.js';

export const BACKUP_VERSION = 1;
const HKDF_INFO = 'adc-cutover backup v1';

export type BackupJob = 'rekey' | 'encrypt' | 'decrypt' | 'restore';

export interface BackupHeader {
  type: 'header';
  version: number;
  createdAt: string;
  job: BackupJob;
  attribute: string;
  base: string;
  /** KIDs involved in the run (sources and target). */
  kids: string[];
  /** KID of the certificate whose derived key seals the records: give it to restore. */
  sealedWith: string;
  /** HKDF salt, base64. */
  salt: string;
}

/**
 * Before the writes of a group: the values as they were, sealed together (one AES-GCM operation
 * per group keeps the backup off the hot path), each with the sha256 of the value about to
 * replace it, so a restore recognises "still ours" even after a crash between write and record.
 */
export interface OriginalsRecord {
  type: 'originals';
  /** DNs in clear (authenticated as additional data), in the order of the sealed values. */
  entries: { dn: string; intended: string }[];
  iv: string;
  /** AES-256-GCM of JSON `[{"value":…}, …]`. */
  ct: string;
  tag: string;
}

/** After the writes of a group that the server accepted: DN and sha256 of the value written. */
export interface WrittenRecord {
  type: 'written';
  entries: { dn: string; sha256: string }[];
}

/** The original was put back (verification failed, or a restore run). */
export interface RestoredRecord {
  type: 'restored';
  dn: string;
  reason: string;
}

export type BackupRecord = OriginalsRecord | WrittenRecord | RestoredRecord;

export function sha256Hex(value: string): string {
  // The one-shot crypto.hash (Node ≥ 20.12) where there is one: no Hash object per value, same digest.
  return oneShotHash ? oneShotHash('sha256', value, 'hex') : createHash('sha256').update(value, 'utf8').digest('hex');
}
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function backupKey(km: OtpKeyMaterial, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', km.aesKey, salt, Buffer.from(HKDF_INFO, 'utf8'), 32));
}

export class BackupWriter {
  private pending: { line: string; done: () => void; fail: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  private failure: Error | undefined;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly header: BackupHeader,
    private readonly key: Buffer,
  ) {}

  /** Creates the file (refusing to overwrite one), mode 0600, header fsync'd before returning. */
  static async create(path: string, opts: { job: BackupJob; attribute: string; base: string; kids: string[]; sealWith: OtpKeyMaterial }): Promise<BackupWriter> {
    const salt = randomBytes(16);
    const header: BackupHeader = {
      type: 'header',
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      job: opts.job,
      attribute: opts.attribute,
      base: opts.base,
      kids: opts.kids,
      sealedWith: opts.sealWith.kidText,
      salt: salt.toString('base64'),
    };
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx', 0o600);
    } catch (err) {
      throw new InputError(`backup file ${path}: cannot create it (${errorMessage(err)}); a backup is never overwritten, name a new file`);
    }
    // The umask may have narrowed the mode but never widens it; chmod anyway in case the file system ignored it.
    await fh.chmod(0o600);
    try {
      await writeAll(fh, `${JSON.stringify(header)}\n`);
      await fh.sync();
    } catch (err) {
      // Without its header the file is no backup: remove it, so nothing reads it as one (a
      // rollback then sees that no backup, hence no directory write, ever happened).
      await fh.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw new AdcError(`backup file ${path}: cannot write its header (${errorMessage(err)}); nothing was written to the directory`, undefined, { cause: err });
    }
    await syncDir(dirname(path));
    return new BackupWriter(fh, path, header, backupKey(opts.sealWith, salt));
  }

  /** One sealed record holding the originals of a group, ready to append. */
  originals(items: { dn: string; value: string; intended: string }[]): OriginalsRecord {
    const entries = items.map((i) => ({ dn: i.dn, intended: i.intended }));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    // The DNs are authenticated data: a value cannot be moved to another DN without detection.
    cipher.setAAD(Buffer.from(JSON.stringify(entries), 'utf8'));
    const ct = Buffer.concat([cipher.update(JSON.stringify(items.map((i) => ({ value: i.value }))), 'utf8'), cipher.final()]);
    return { type: 'originals', entries, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  /** Resolves once every record is on disk (fsync'd). */
  append(records: BackupRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new AdcError(`backup file ${this.path}: already closed`));
    if (this.failure) return Promise.reject(this.failure);
    if (records.length === 0) return Promise.resolve();
    const line = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const p = new Promise<void>((done, fail) => this.pending.push({ line, done, fail }));
    this.kick();
    return p;
  }

  private kick(): void {
    if (this.flushing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = (async () => {
      try {
        await writeAll(this.fh, batch.map((b) => b.line).join(''));
        await this.fh.sync();
        for (const b of batch) b.done();
      } catch (err) {
        this.failure = new AdcError(`backup file ${this.path}: write failed (${errorMessage(err)}); no further directory writes`, undefined, { cause: err });
        for (const b of batch) b.fail(this.failure);
      }
    })().finally(() => {
      this.flushing = undefined;
      this.kick();
    });
  }

  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      this.kick();
      await this.flushing;
    }
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** A short write (a full disk takes part of the text) is a failure, never a record on disk. */
async function writeAll(fh: FileHandle, text: string): Promise<void> {
  const buf = Buffer.from(text, 'utf8');
  const { bytesWritten } = await fh.write(buf, 0, buf.length);
  if (bytesWritten !== buf.length) throw Object.assign(new Error(`short write (${bytesWritten} of ${buf.length} bytes): no space left on device`), { code: 'ENOSPC' });
}

async function syncDir(dir: string): Promise<void> {
  // The new file's directory entry must survive a crash too; not every platform allows this.
  const dh = await open(dir, 'r').catch(() => undefined);
  await dh?.sync().catch(() => undefined);
  await dh?.close();
}

/**
 * The original recorded for an attribute that held no value before the write (a copy to another
 * attribute adds one). LDAP has no empty values, so it cannot be mistaken for one; its undo is
 * deleting what was written.
 */
export const NO_VALUE = '';

export interface BackupEntry {
  dn: string;
  /** Originals in the order recorded (a retried entry has several), each with the sha256 of what was to replace it; NO_VALUE when there was none. */
  originals: { value: string; intended: string }[];
  written: string[];
  restored: boolean;
}

export interface OpenedBackup {
  header: BackupHeader;
  /** In file order of first appearance. Values are secret-bearing: never log. */
  entries: BackupEntry[];
}

/** Reads and opens a backup with the certificate it was sealed with (one of `keys`). */
export async function readBackup(path: string, keys: OtpKeyMaterial[]): Promise<OpenedBackup> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`backup file ${path}: ${errorMessage(err)}`);
  }
  const lines = text.split('\n');
  const parse = (line: string, n: number): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new InputError(`backup file ${path}: line ${n} is not a JSON record`);
  };
  const header = parse(lines[0] ?? '', 1) as unknown as BackupHeader;
  if (header.type !== 'header' || header.version !== BACKUP_VERSION) {
    throw new InputError(`backup file ${path}: no version ${BACKUP_VERSION} header on line 1`);
  }
  const km = keys.find((k) => k.kidText === header.sealedWith);
  if (!km) {
    throw new InputError(
      `backup file ${path} is sealed with the certificate of KID ${header.sealedWith}; the given certificates are ${keys.map((k) => `${k.subject} (KID ${k.kidText})`).join(', ') || 'none'}`,
    );
  }
  const key = backupKey(km, Buffer.from(header.salt, 'base64'));
  const byDn = new Map<string, BackupEntry>();
  const entryOf = (dn: string): BackupEntry => {
    let e = byDn.get(dn);
    if (!e) byDn.set(dn, (e = { dn, originals: [], written: [], restored: false }));
    return e;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = parse(line, i + 1);
    } catch (err) {
      // A crash can tear the very last line; anything earlier is damage worth stopping for.
      if (i >= lines.length - 2) break;
      throw err;
    }
    if (rec['type'] === 'originals') {
      const r = rec as unknown as OriginalsRecord;
      let values: { value: string }[];
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(r.iv, 'base64'));
        d.setAAD(Buffer.from(JSON.stringify(r.entries), 'utf8'));
        d.setAuthTag(Buffer.from(r.tag, 'base64'));
        values = JSON.parse(Buffer.concat([d.update(Buffer.from(r.ct, 'base64')), d.final()]).toString('utf8')) as { value: string }[];
        if (!Array.isArray(values) || values.length !== r.entries.length) throw new Error('count');
      } catch {
        throw new InputError(
          `backup file ${path}: line ${i + 1} (${r.entries?.[0]?.dn ?? 'no DN'}${(r.entries?.length ?? 0) > 1 ? ` and ${r.entries.length - 1} more` : ''}) does not open with the certificate of KID ${km.kidText}: the file was altered or is damaged`,
        );
      }
      r.entries.forEach((e, k) => entryOf(e.dn).originals.push({ value: values[k].value, intended: e.intended }));
    } else if (rec['type'] === 'written') {
      for (const w of (rec as unknown as WrittenRecord).entries ?? []) entryOf(w.dn).written.push(w.sha256);
    } else if (rec['type'] === 'restored') {
      entryOf(String(rec['dn'])).restored = true;
    }
  }
  return { header, entries: [...byDn.values()] };
}
