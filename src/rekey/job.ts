// What one entry needs, decided from its stored values alone (pure: no I/O). The per-device
// decisions are the codec's (rekeyValue / decryptValue); this only turns them into "write this",
// "leave it, because…" or "refuse it, because…".
import { errorMessage } from '../errors.js';
import { Keyring, decryptValue, rekeyValue, type DeviceOutcome, type OtpKeyMaterial } from '../otp/index.js';

export type RekeyJob =
  /** The certificate cutover: devices under `from` move to `to`. */
  | { kind: 'rekey'; from: OtpKeyMaterial[]; to: OtpKeyMaterial; includeLegacy?: boolean }
  /** Legacy plaintext → encrypted under `to` (the vendor tool's "encrypt"). */
  | { kind: 'encrypt'; to: OtpKeyMaterial }
  /** Encrypted → legacy plaintext (the vendor tool's "decrypt"). */
  | { kind: 'decrypt'; from: OtpKeyMaterial[] };

export type EntryPlan =
  | { kind: 'write'; oldValue: string; newValue: string; secrets: Map<string, string>; devices: DeviceOutcome[] }
  | { kind: 'unchanged'; devices: DeviceOutcome[] }
  | { kind: 'skip'; reason: string; devices: DeviceOutcome[] }
  | { kind: 'refuse'; reason: string };

export interface PreparedJob {
  job: RekeyJob;
  /** Reads every value this job may write (verification after the write). */
  verifyKeyring: Keyring;
  /** Reads values that changed after our write (another writer used any of the keys). */
  anyKeyring: Keyring;
  /** The certificate that seals the backup: whoever may undo the run holds it. */
  sealWith: OtpKeyMaterial;
  kids: string[];
  plan(values: string[]): EntryPlan;
}

export function prepareJob(job: RekeyJob): PreparedJob {
  const all = job.kind === 'rekey' ? [...job.from, job.to] : job.kind === 'encrypt' ? [job.to] : job.from;
  const from = new Keyring(job.kind === 'encrypt' ? [] : job.from);
  const verifyKeyring = new Keyring(job.kind === 'decrypt' ? [] : [job.to]);
  const transform = (value: string) => {
    switch (job.kind) {
      case 'rekey':
        return rekeyValue(value, { from, to: job.to, includeLegacy: job.includeLegacy });
      case 'encrypt':
        return rekeyValue(value, { from, to: job.to, includeLegacy: true });
      case 'decrypt':
        return decryptValue(value, from);
    }
  };
  return {
    job,
    verifyKeyring,
    anyKeyring: new Keyring(all),
    sealWith: job.kind === 'encrypt' ? job.to : job.from[0]!,
    kids: [...new Set(all.map((k) => k.kidText))],
    plan(values: string[]): EntryPlan {
      const present = values.filter((v) => v.length > 0);
      if (present.length === 0) return { kind: 'skip', reason: 'empty', devices: [] };
      if (present.length > 1) {
        return { kind: 'refuse', reason: `the attribute holds ${present.length} values; the ADC reads one value per user: refused, not written (fix the entry by hand)` };
      }
      const oldValue = present[0]!;
      let r;
      try {
        r = transform(oldValue);
      } catch (err) {
        // A value we cannot parse, or (decrypt) a device we cannot read: left as it is, reported.
        return { kind: 'skip', reason: job.kind === 'decrypt' && /decrypt/.test(errorMessage(err)) ? 'cannot decrypt' : 'unreadable value', devices: [] };
      }
      if (r.value !== undefined && r.value !== oldValue) {
        return { kind: 'write', oldValue, newValue: r.value, secrets: r.secrets, devices: r.devices };
      }
      const reason = skipReason(r.devices, job.kind);
      return reason ? { kind: 'skip', reason, devices: r.devices } : { kind: 'unchanged', devices: r.devices };
    },
  };
}

/** Why an entry with nothing to write is not simply "done": the first device that was left. */
function skipReason(devices: DeviceOutcome[], job: RekeyJob['kind']): string | undefined {
  if (devices.some((d) => d.action === 'unreadable')) return 'unreadable device';
  if (devices.some((d) => d.action === 'unknown-kid')) return job === 'encrypt' ? 'encrypted under another certificate' : 'unknown KID';
  // Plaintext is what a decrypt job leaves behind: nothing to do there.
  if (job !== 'decrypt' && devices.some((d) => d.action === 'legacy-kept')) return 'legacy (not asked to encrypt)';
  return undefined;
}
