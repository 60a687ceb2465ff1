// Undo a run from its backup: each original goes back with compare-and-swap, and only where the
// entry still holds exactly what the run wrote (its sha256 is in the backup); where there was no
// original (a copy added the attribute), the value written is deleted, on the same condition. Entries changed
// since — a user registered a device under the new key — are listed, not overwritten; on request
// their devices are re-encrypted under the old key instead, so the old certificate reads
// everything again and nothing the user did is lost.
import { CasConflict, DirectoryUnavailable, casDelete, casReplace, dnKey, readValues, type DirectoryClient } from '../directory/index.js';
import { InputError, errorMessage } from '../errors.js';
import { Keyring, rekeyValue, verifySecrets, type OtpKeyMaterial } from '../otp/index.js';
import { NO_VALUE, readBackup, sha256Hex, type BackupEntry } from './backup.js';
import { emptySummary, skip, tallyDevices, type RunProgress, type RunSummary } from './summary.js';
import { DEFAULT_CONCURRENCY } from './defaults.js';

export interface RestoreOptions {
  connect: () => Promise<DirectoryClient>;
  backupFile: string;
  /** Must include the certificate the backup is sealed with (the old one, for a rekey). */
  keys: OtpKeyMaterial[];
  /**
   * For entries changed since the run: re-encrypt their devices under this certificate (normally
   * the old one) instead of leaving them. Devices are read with `keys`, which must then also hold
   * the certificate they are under now (the new one).
   */
  reencryptChangedUnder?: OtpKeyMaterial;
  /** The attribute; defaults to the one the backup names. */
  attribute?: string;
  concurrency?: number;
  groupSize?: number;
  onProgress?: (p: RunProgress) => void;
  signal?: AbortSignal;
}

export interface RestoreSummary extends RunSummary {
  /** Entries that changed after the run wrote them (not put back). DNs only. */
  changedSince: string[];
}

export async function runRestore(opts: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const backup = await readBackup(opts.backupFile, opts.keys);
  const attribute = opts.attribute ?? backup.header.attribute;
  if (opts.reencryptChangedUnder && !opts.keys.some((k) => k.kidText !== opts.reencryptChangedUnder!.kidText)) {
    throw new InputError('re-encrypting changed entries needs the certificate their devices are under now (the new one) among the keys');
  }
  const conns: DirectoryClient[] = [];
  const summary: RestoreSummary = { ...emptySummary('restore', false), changedSince: [] };
  try {
    const n = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
    for (let i = 0; i < n; i++) conns.push(await opts.connect());
    summary.dryRun = conns[0].dryRun;
    const groupSize = Math.max(1, opts.groupSize ?? 50);
    const groups: BackupEntry[][] = [];
    for (let i = 0; i < backup.entries.length; i += groupSize) groups.push(backup.entries.slice(i, i + groupSize));
    let next = 0;
    let stopped = false;
    const work = async (conn: DirectoryClient) => {
      while (next < groups.length && !stopped) {
        if (opts.signal?.aborted) {
          summary.stopped ??= { reason: 'aborted', message: 'stopped on request: in-flight writes finished' };
          return;
        }
        const group = groups[next++];
        try {
          await restoreGroup(conn, group, attribute, opts, summary);
        } catch (err) {
          if (!(err instanceof DirectoryUnavailable)) throw err;
          stopped = true;
          summary.stopped ??= { reason: 'directory-unavailable', message: errorMessage(err) };
        }
        if (opts.onProgress) {
          const secs = Math.max(0.001, (Date.now() - started) / 1000);
          const done = summary.fetched;
          opts.onProgress({
            done,
            total: backup.entries.length,
            rate: done / secs,
            etaSec: (backup.entries.length - done) / (done / secs || 1),
            changed: summary.changed,
            failed: summary.failed.length,
          });
        }
      }
    };
    await Promise.all(conns.map(work));
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

async function restoreGroup(conn: DirectoryClient, group: BackupEntry[], attribute: string, opts: RestoreOptions, summary: RestoreSummary): Promise<void> {
  // Entries not written here (changed since the run, or a dry run): nothing to read back.
  const notWritten = new Set<string>();
  const failedHere = new Set<string>();
  const current = await readValues(
    conn,
    group.map((e) => e.dn),
    attribute,
  );
  await Promise.all(
    group.map(async (e) => {
      summary.fetched++;
      const now = current.get(dnKey(e.dn));
      if (!now) {
        skip(summary, 'entry gone');
        return;
      }
      if (isOriginal(e, now)) {
        summary.unchanged++;
        return;
      }
      const value = now.length === 1 ? now[0] : undefined;
      const sha = value === undefined ? undefined : sha256Hex(value);
      // The newest original whose intended write is what the entry holds now: that write is ours.
      const ours = [...e.originals].reverse().find((o) => o.intended === sha);
      if (value !== undefined && ours) {
        // A dry run reads and decides exactly as a real one, and counts what it would put back.
        if (conn.dryRun) {
          summary.changed++;
          notWritten.add(e.dn);
          return;
        }
        try {
          if (ours.value === NO_VALUE) await casDelete(conn, e.dn, attribute, value);
          else await casReplace(conn, e.dn, attribute, value, ours.value);
        } catch (err) {
          if (err instanceof DirectoryUnavailable) throw err;
          if (err instanceof CasConflict) changedSince(summary, notWritten, e.dn, 'changed while restoring');
          else {
            summary.failed.push({ dn: e.dn, reason: errorMessage(err) });
            failedHere.add(e.dn);
          }
          return;
        }
        summary.changed++;
        return;
      }
      changedSince(summary, notWritten, e.dn, 'changed since the run');
      if (opts.reencryptChangedUnder && value !== undefined) await reencrypt(conn, e.dn, attribute, value, opts.reencryptChangedUnder, opts.keys, summary);
    }),
  );
  // Read the restored values back: byte for byte what the backup holds.
  const restored = group.filter((e) => !notWritten.has(e.dn) && !failedHere.has(e.dn));
  if (restored.length === 0) return;
  const after = await readValues(
    conn,
    restored.map((e) => e.dn),
    attribute,
  );
  for (const e of restored) {
    const v = after.get(dnKey(e.dn));
    if (v && !isOriginal(e, v)) {
      summary.failed.push({ dn: e.dn, reason: 'after the restore the value is not the original (changed again meanwhile?)' });
    }
  }
}

/** The entry holds one of its originals: that value alone, or nothing where there was nothing. */
function isOriginal(e: BackupEntry, now: string[]): boolean {
  if (now.length === 0) return e.originals.some((o) => o.value === NO_VALUE);
  return now.length === 1 && e.originals.some((o) => o.value === now[0]);
}

function changedSince(summary: RestoreSummary, notWritten: Set<string>, dn: string, reason: string): void {
  notWritten.add(dn);
  summary.changedSince.push(dn);
  skip(summary, reason);
}

async function reencrypt(conn: DirectoryClient, dn: string, attribute: string, value: string, to: OtpKeyMaterial, keys: OtpKeyMaterial[], summary: RestoreSummary): Promise<void> {
  const readers = new Keyring(keys);
  let r;
  try {
    r = rekeyValue(value, { from: readers, to });
  } catch (err) {
    summary.failed.push({ dn, reason: `changed since the run, and its value cannot be read: ${errorMessage(err)}` });
    return;
  }
  tallyDevices(summary, r.devices);
  if (r.value === undefined) return;
  if (conn.dryRun) {
    summary.changed++;
    return;
  }
  try {
    await casReplace(conn, dn, attribute, value, r.value);
  } catch (err) {
    if (err instanceof DirectoryUnavailable) throw err;
    summary.failed.push({ dn, reason: `re-encrypting under ${to.subject} failed: ${errorMessage(err)}` });
    return;
  }
  const [back] = (await readValues(conn, [dn], attribute)).get(dnKey(dn)) ?? [];
  const bad = back === undefined ? 'the entry vanished' : verifySecrets(back, new Keyring([to, ...keys]), r.secrets);
  if (bad) summary.failed.push({ dn, reason: `re-encrypted under ${to.subject} but the read-back does not verify: ${bad}` });
  else summary.changed++;
}
