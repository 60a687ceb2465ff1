// Moving every device under one of our certificates to the other, over the whole directory: how a
// rollback keeps the key users need when it cannot simply put the backup back. Users enrol while
// a run is under way (the gateway encrypts under the newest bound key), so devices under the new
// certificate turn up in entries the run never wrote: users with no device before, legacy users
// whose whole value the gateway re-encrypted, entries that changed between the bind and the
// re-encryption. A backup cannot name them; a census by KID finds them. Same engine and
// guarantees as the re-encryption itself: backup first, compare-and-swap, every write read back.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runRekey } from '../rekey/index.js';
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

export async function moveDevices(deps: StepDeps, ctx: StepContext, from: Which, to: Which, why: string): Promise<SweepResult> {
  const { estate, params } = deps;
  const dir = estate.inventory.directory;
  const backupFile = freshBackupPath(ctx.runDir, 'directory-backup-sweep');
  ctx.note('directory', `${why}: re-encrypting every device under the ${from} certificate to the ${to} one (originals backed up to ${backupFile})`, 'warn');
  const s = await runRekey({
    connect: estate.directory, base: dir.base, filter: dir.filter, attribute: dir.attribute, backupFile,
    job: { kind: 'rekey', from: [estate.certs[from].km], to: estate.certs[to].km, includeLegacy: false },
    concurrency: params.concurrency ?? dir.concurrency, pageSize: dir.pageSize,
    onProgress: (p) => ctx.progress('directory', { done: p.done, total: p.total ?? p.done, rate: p.rate, detail: `moving devices to the ${to} certificate` }),
  });
  const failed = s.failed.map((f) => ({ dn: f.dn, reason: f.reason }));
  const stopped = s.stopped ? `; stopped: ${s.stopped.message}` : '';
  return {
    changed: s.changed, failed, backupFile,
    message: `${s.changed} entr(ies) moved from the ${from} certificate to the ${to} one (backup ${backupFile})${failed.length ? `; ${failed.length} failed: ${failed.slice(0, 3).map((f) => `${f.dn}: ${f.reason}`).join('; ')}` : ''}${stopped}`,
  };
}
