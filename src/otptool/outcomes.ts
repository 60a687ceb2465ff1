// One log line per user, in operator words. The engine reports counts and the failed DNs; the
// per-user story (which user was left alone, and why) is rebuilt here from the same pure
// decision the engine makes (prepareJob(job).plan) on the values the engine's own scan read,
// plus the backup's record of what was written and the summary's failures.
//
// Why this detour: runRekey has no per-entry callback yet. Once it has one (an `onEntry` called
// from its finish()), `observeEngine` goes and the engine's events feed the log directly.
import { readFile } from 'node:fs/promises';
import { valuesOf, type DirectoryClient } from '../directory/index.js';
import type { DeviceOutcome } from '../otp/index.js';
import { prepareJob, type EntryPlan, type RekeyJob, type RunSummary } from '../rekey/index.js';
import type { EntryEvent } from './applog.js';

/** Why an entry with nothing to write was left, as the vendor tool's users would put it. */
export function skipText(reason: string, job: RekeyJob['kind']): string {
  switch (reason) {
    case 'empty': return 'the attribute is empty';
    case 'unreadable value': return 'the value is not a readable OTP value (damaged or not OTP data)';
    case 'cannot decrypt': return 'cannot decrypt with this certificate (encrypted under another one, or damaged)';
    case 'unreadable device': return 'a device does not decrypt with its certificate (damaged value)';
    case 'unknown KID': return 'encrypted under a certificate that was not given (unknown KID)';
    case 'encrypted under another certificate': return 'already encrypted, under another certificate';
    case 'legacy (not asked to encrypt)': return job === 'rekey' ? 'legacy plaintext, left as it is (add -include_legacy to encrypt it too)' : 'legacy plaintext';
    default: return reason;
  }
}

export function unchangedText(job: RekeyJob['kind']): string {
  switch (job) {
    case 'rekey': return 'already under the new certificate';
    case 'encrypt': return 'already encrypted under this certificate';
    case 'decrypt': return 'already plaintext';
  }
}

/** What a write does to the devices, e.g. "2 devices re-encrypted (KID abc… → KID def…)". */
export function writeText(devices: DeviceOutcome[], job: RekeyJob): string {
  const n = (action: DeviceOutcome['action']) => devices.filter((d) => d.action === action).length;
  const plural = (k: number) => `${k} device${k === 1 ? '' : 's'}`;
  const parts: string[] = [];
  const to = job.kind === 'decrypt' ? undefined : job.to.kidText;
  if (n('rekeyed')) {
    const from = [...new Set(devices.filter((d) => d.action === 'rekeyed').map((d) => d.kid))].join(', ');
    parts.push(`${plural(n('rekeyed'))} re-encrypted (KID ${from} → KID ${to})`);
  }
  if (n('legacy-encrypted')) parts.push(`${plural(n('legacy-encrypted'))} encrypted from legacy plaintext (KID ${to})`);
  if (n('decrypted')) parts.push(`${plural(n('decrypted'))} decrypted to legacy plaintext`);
  if (n('already-target')) parts.push(`${plural(n('already-target'))} already under the new certificate`);
  if (n('unknown-kid')) parts.push(`${plural(n('unknown-kid'))} under an unknown certificate kept as they are`);
  return parts.join('; ') || 'value rewritten';
}

export function planEvent(dn: string, plan: EntryPlan, job: RekeyJob, dryRun: boolean): EntryEvent {
  switch (plan.kind) {
    case 'write': return { dn, outcome: dryRun ? 'would-modify' : 'modified', reason: writeText(plan.devices, job) };
    case 'unchanged': return { dn, outcome: 'not-modified', reason: unchangedText(job.kind) };
    case 'skip': return { dn, outcome: 'not-modified', reason: skipText(plan.reason, job.kind) };
    case 'refuse': return { dn, outcome: 'failed', reason: plan.reason };
  }
}

/**
 * Watches the engine's scan: every connection it opens gets a searchPages that plans each entry
 * it hands out (the count query and the read-backs are not scans of the attribute and pass by).
 * The plans are the engine's first decisions; `settle` turns them into final events.
 */
export class EngineObserver {
  private readonly planned: { dn: string; event: EntryEvent; write: boolean }[] = [];
  private readonly prepared;

  constructor(private readonly job: RekeyJob, private readonly attribute: string) {
    this.prepared = prepareJob(job);
  }

  wrap(connect: () => Promise<DirectoryClient>): () => Promise<DirectoryClient> {
    return async () => {
      const client = await connect();
      const original = client.searchPages.bind(client);
      const attr = this.attribute.toLowerCase();
      // Instance override of a method on a connection we own; see the header for why.
      client.searchPages = (base, options) => {
        const pages = original(base, options);
        if (!(options.attributes ?? []).some((a) => a.toLowerCase() === attr)) return pages;
        return this.tap(pages, client.dryRun);
      };
      return client;
    };
  }

  private async *tap(pages: AsyncGenerator<Awaited<ReturnType<DirectoryClient['search']>>>, dryRun: boolean) {
    for await (const page of pages) {
      for (const e of page) {
        const plan = this.prepared.plan(valuesOf(e, this.attribute));
        this.planned.push({ dn: e.dn, event: planEvent(e.dn, plan, this.job, dryRun), write: plan.kind === 'write' });
      }
      yield page;
    }
  }

  /**
   * Final events: a planned write is "modified" only when the backup records the server accepted
   * it and the summary does not list it as failed; failures carry the engine's reason.
   */
  async settle(summary: RunSummary): Promise<EntryEvent[]> {
    const failed = new Map(summary.failed.map((f) => [f.dn, f.reason]));
    const written = summary.backupFile ? await writtenDns(summary.backupFile) : new Set<string>();
    const out: EntryEvent[] = [];
    const seen = new Set<string>();
    for (const p of this.planned) {
      seen.add(p.dn);
      const why = failed.get(p.dn);
      if (why !== undefined) out.push({ dn: p.dn, outcome: 'failed', reason: why });
      else if (!p.write || summary.dryRun) out.push(p.event);
      else if (written.has(p.dn)) out.push(p.event);
      else if (summary.stopped) out.push({ dn: p.dn, outcome: 'not-processed', reason: `the run stopped before this user (${summary.stopped.reason})` });
      // A compare-and-swap conflict re-read the entry and found nothing left to do.
      else out.push({ dn: p.dn, outcome: 'not-modified', reason: 'changed by another writer during the run; on re-reading, nothing was left to do' });
    }
    for (const [dn, reason] of failed) if (!seen.has(dn)) out.push({ dn, outcome: 'failed', reason });
    return out;
  }
}

/** DNs the backup records as written (the "written" records hold DNs and hashes in clear). */
async function writtenDns(path: string): Promise<Set<string>> {
  const out = new Set<string>();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"written"')) continue;
    try {
      const rec = JSON.parse(line) as { type?: string; entries?: { dn: string }[]; dn?: string };
      if (rec.type !== 'written') continue;
      // Both layouts the engine has used: one record per group, or one per entry.
      for (const e of rec.entries ?? []) out.add(e.dn);
      if (rec.dn) out.add(rec.dn);
    } catch {
      // A torn last line after a crash: the entries in it count as unknown, not written.
    }
  }
  return out;
}
