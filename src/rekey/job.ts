// What one entry needs, decided from its stored values alone (pure: no I/O). The per-device
// decisions are the codec's (rekeyValue / decryptValue); this only turns them into "write this",
// "leave it, because…" or "refuse it, because…".
import { Keyring, OtpDecryptError, decryptValue, rekeyValues, verifySecrets, verifyValues, type DeviceOutcome, type OtpKeyMaterial, type Settled, type TransformResult } from '../otp/index.js';

export type RekeyJob =
  /** The certificate cutover: devices under `from` move to `to`. */
  | { kind: 'rekey'; from: OtpKeyMaterial[]; to: OtpKeyMaterial; includeLegacy?: boolean }
  /** Legacy plaintext → encrypted under `to` (the vendor tool's "encrypt"). */
  | { kind: 'encrypt'; to: OtpKeyMaterial }
  /** Encrypted → legacy plaintext (the vendor tool's "decrypt"). */
  | { kind: 'decrypt'; from: OtpKeyMaterial[] };

export type EntryPlan =
  | {
      kind: 'write';
      oldValue: string;
      newValue: string;
      secrets: Map<string, string>;
      devices: DeviceOutcome[];
      /** The device JSON each secret was parsed from (TransformResult.plaintexts), for checkWrites. */
      plaintexts?: Map<string, Buffer>;
    }
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
  /** plan() for each entry's values, in order; the crypto of the whole batch is done together. */
  planMany(entries: readonly string[][]): EntryPlan[];
  /**
   * Before the write: does each new value read, with verifyKeyring, as the original secrets,
   * device for device? The same check verifySecrets makes on a read-back; undefined when it
   * does, else the reason.
   */
  checkWrites(plans: readonly Extract<EntryPlan, { kind: 'write' }>[]): (string | undefined)[];
}

export function prepareJob(job: RekeyJob): PreparedJob {
  const all = job.kind === 'rekey' ? [...job.from, job.to] : job.kind === 'encrypt' ? [job.to] : job.from;
  const from = new Keyring(job.kind === 'encrypt' ? [] : job.from);
  const verifyKeyring = new Keyring(job.kind === 'decrypt' ? [] : [job.to]);
  /** The job's transform for many values, each settled on its own. */
  const transformMany = (values: readonly string[]): Settled<TransformResult>[] => {
    switch (job.kind) {
      case 'rekey':
        return rekeyValues(values, { from, to: job.to, includeLegacy: job.includeLegacy });
      case 'encrypt':
        return rekeyValues(values, { from, to: job.to, includeLegacy: true });
      case 'decrypt':
        return values.map((v) => {
          try {
            return { ok: true, result: decryptValue(v, from) };
          } catch (error) {
            return { ok: false, error };
          }
        });
    }
  };
  /** What the stored values need, given the transform's outcome for the one value (when there is one). */
  const decide = (values: readonly string[], r: Settled<TransformResult> | undefined): EntryPlan => {
    const present = values.filter((v) => v.length > 0);
    if (present.length === 0) return { kind: 'skip', reason: 'empty', devices: [] };
    if (present.length > 1) {
      return { kind: 'refuse', reason: `the attribute holds ${present.length} values; the ADC reads one value per user: refused, not written (fix the entry by hand)` };
    }
    const oldValue = present[0];
    if (!r || !r.ok) {
      // A value we cannot parse, or (decrypt) a device we cannot read: left as it is, reported.
      return { kind: 'skip', reason: job.kind === 'decrypt' && r?.error instanceof OtpDecryptError ? 'cannot decrypt' : 'unreadable value', devices: [] };
    }
    const { result } = r;
    if (result.value !== undefined && result.value !== oldValue) {
      return {
        kind: 'write',
        oldValue,
        newValue: result.value,
        secrets: result.secrets,
        devices: result.devices,
        ...(result.plaintexts ? { plaintexts: result.plaintexts } : {}),
      };
    }
    const reason = skipReason(result.devices, job.kind);
    return reason ? { kind: 'skip', reason, devices: result.devices } : { kind: 'unchanged', devices: result.devices };
  };
  const planMany = (entries: readonly string[][]): EntryPlan[] => {
    const single = entries.map((values) => {
      const present = values.filter((v) => v.length > 0);
      return present.length === 1 ? present[0] : undefined;
    });
    const todo = single.filter((v): v is string => v !== undefined);
    let done: Settled<TransformResult>[];
    try {
      done = transformMany(todo);
    } catch {
      // Something in the batch threw outside a value's own parse: settle each value on its own.
      done = todo.map((v): Settled<TransformResult> => {
        try {
          return transformMany([v])[0];
        } catch (error) {
          return { ok: false, error };
        }
      });
    }
    let next = 0;
    return entries.map((values, i) => decide(values, single[i] !== undefined ? done[next++] : undefined));
  };
  return {
    job,
    verifyKeyring,
    anyKeyring: new Keyring(all),
    sealWith: job.kind === 'encrypt' ? job.to : job.from[0],
    kids: [...new Set(all.map((k) => k.kidText))],
    plan: (values: string[]): EntryPlan => planMany([values])[0],
    planMany,
    checkWrites(plans) {
      if (job.kind === 'decrypt') return plans.map((p) => verifySecrets(p.newValue, verifyKeyring, p.secrets));
      return verifyValues(
        plans.map((p) => ({ value: p.newValue, expected: p })),
        verifyKeyring,
      );
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
