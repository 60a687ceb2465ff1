// Moving every device under one of our certificates to the other, over the whole directory: how a
// rollback keeps the key users need when it cannot simply put the backup back. Users enrol while
// a run is under way (the gateway encrypts under the newest bound key), so devices under the new
// certificate turn up in entries the run never wrote: users with no device before, legacy users
// whose whole value the gateway re-encrypted, entries that changed between the bind and the
// re-encryption. A backup cannot name them; a census by KID finds them. Same engine and
// guarantees as the re-encryption itself: backup first, compare-and-swap, every write read back.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runRekey, runRestore } from '../rekey/index.js';
import type { StepContext } from '../runner/step.js';
import type { StepDeps } from './facts.js';
import type { Which } from './invariant.js';

export interface SweepResult {
  changed: number;
  failed: { dn: string; reason: string }[];
  backupFile: string;
  message: string;
}

export function freshBackupPath(runDir: string, stem = 'directory-backup'): string {
  for (let i = 1; ; i++) {
    const p = join(runDir, i === 1 ? `${stem}.jsonl` : `${stem}-${i}.jsonl`);
    if (!existsSync(p)) return p;
  }
}

/** The backups of this run's own re-encryptions (not those of a move), oldest first. */
export function runBackups(runDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^directory-backup(-\d+)?\.jsonl$/.test(n))
    .sort((x, y) => x.length - y.length || x.localeCompare(y))
    .map((n) => join(runDir, n));
}

/**
 * Move every device under `from` to `to`. `restoreFirst`: backups of this run to put back before
 * (newest first), so the entries the run wrote get their original bytes rather than a second
 * re-encryption; the rekey step's own rollback then finds them restored and changes nothing.
 */
export async function moveDevices(deps: StepDeps, ctx: StepContext, from: Which, to: Which, why: string, restoreFirst: string[] = []): Promise<SweepResult> {
  const { estate, params } = deps;
  const dir = estate.inventory.directory;
  const keys = [estate.certs.old.km, estate.certs.new.km];
  for (const file of [...restoreFirst].reverse()) {
    const r = await runRestore({ connect: estate.directory, backupFile: file, keys, reencryptChangedUnder: estate.certs[to].km, concurrency: params.concurrency ?? dir.concurrency });
    ctx.note(
      'directory',
      `${why}: ${r.changed} original value(s) put back from ${file} first${r.changedSince.length ? `, ${r.changedSince.length} changed since re-encrypted under the ${to} certificate` : ''}`,
    );
  }
  const backupFile = freshBackupPath(ctx.runDir, 'directory-backup-sweep');
  ctx.note('directory', `${why}: re-encrypting every device under the ${from} certificate to the ${to} one (originals backed up to ${backupFile})`, 'warn');
  const s = await runRekey({
    connect: estate.directory,
    base: dir.base,
    filter: dir.filter,
    attribute: dir.attribute,
    backupFile,
    job: { kind: 'rekey', from: [estate.certs[from].km], to: estate.certs[to].km, includeLegacy: false },
    concurrency: params.concurrency ?? dir.concurrency,
    pageSize: dir.pageSize,
    onProgress: (p) => ctx.progress('directory', { done: p.done, total: p.total ?? p.done, rate: p.rate, detail: `moving devices to the ${to} certificate` }),
  });
  const failed = s.failed.map((f) => ({ dn: f.dn, reason: f.reason }));
  const stopped = s.stopped ? `; stopped: ${s.stopped.message}` : '';
  return {
    changed: s.changed,
    failed,
    backupFile,
    message: `${s.changed} entr(ies) moved from the ${from} certificate to the ${to} one (backup ${backupFile})${
      failed.length
        ? `; ${failed.length} failed: ${failed
            .slice(0, 3)
            .map((f) => `${f.dn}: ${f.reason}`)
            .join('; ')}`
        : ''
    }${stopped}`,
  };
}
