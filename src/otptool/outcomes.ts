// One log line per user, in operator words: the engine's per-entry reports (runRekey's onEntry)
// and the copy's plans, put the way the vendor tool's users read them.
import type { DeviceOutcome } from '../otp/index.js';
import type { EntryPlan, EntryReport, RekeyJob } from '../rekey/index.js';
import type { EntryEvent } from './applog.js';

/** Why an entry with nothing to write was left, as the vendor tool's users would put it. */
export function skipText(reason: string, job: RekeyJob['kind']): string {
  switch (reason) {
    case 'empty':
      return 'the attribute is empty';
    case 'unreadable value':
      return 'the value is not a readable OTP value (damaged or not OTP data)';
    case 'cannot decrypt':
      return 'cannot decrypt with this certificate (encrypted under another one, or damaged)';
    case 'unreadable device':
      return 'a device does not decrypt with its certificate (damaged value)';
    case 'unknown KID':
      return 'encrypted under a certificate that was not given (unknown KID)';
    case 'encrypted under another certificate':
      return 'already encrypted, under another certificate';
    case 'legacy (not asked to encrypt)':
      return job === 'rekey' ? 'legacy plaintext, left as it is (add -include_legacy to encrypt it too)' : 'legacy plaintext';
    default:
      return reason;
  }
}

export function unchangedText(job: RekeyJob['kind']): string {
  switch (job) {
    case 'rekey':
      return 'already under the new certificate';
    case 'encrypt':
      return 'already encrypted under this certificate';
    case 'decrypt':
      return 'already plaintext';
  }
}

/** What a write does to the devices, e.g. "2 devices re-encrypted (KID abc… → KID def…)". */
export function writeText(devices: readonly DeviceOutcome[], job: RekeyJob): string {
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
    case 'write':
      return { dn, outcome: dryRun ? 'would-modify' : 'modified', reason: writeText(plan.devices, job) };
    case 'unchanged':
      return { dn, outcome: 'not-modified', reason: unchangedText(job.kind) };
    case 'skip':
      return { dn, outcome: 'not-modified', reason: skipText(plan.reason, job.kind) };
    case 'refuse':
      return { dn, outcome: 'failed', reason: plan.reason };
  }
}

/** An entry the engine finished, as its app.log line. */
export function reportEvent(r: EntryReport, job: RekeyJob, dryRun: boolean): EntryEvent {
  switch (r.outcome.kind) {
    case 'changed':
      return { dn: r.dn, outcome: dryRun ? 'would-modify' : 'modified', reason: writeText(r.devices, job) };
    case 'unchanged':
      return { dn: r.dn, outcome: 'not-modified', reason: unchangedText(job.kind) };
    case 'skipped':
      return { dn: r.dn, outcome: 'not-modified', reason: skipText(r.outcome.reason, job.kind) };
    case 'failed':
      return { dn: r.dn, outcome: 'failed', reason: r.outcome.reason };
  }
}
