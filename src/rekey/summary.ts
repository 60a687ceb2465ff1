// What a run reports: counts, reasons and DNs — never a value or a secret — shaped the same for
// rekey, encrypt, decrypt and restore so the CLI prints one table and one JSON form.
import type { DeviceAction, DeviceOutcome } from '../otp/index.js';
import type { ErrorCodes } from '../errors.js';

/** `report-failed`: the caller's onEntry threw, so its per-entry record would have a gap. */
export type StopReason = 'aborted' | 'error-budget' | 'directory-unavailable' | 'backup-failed' | 'report-failed';

export interface RunSummary {
  job: 'rekey' | 'encrypt' | 'decrypt' | 'restore';
  dryRun: boolean;
  /** Entries read from the directory (or from the backup, for a restore). */
  fetched: number;
  /** Entries written (on a dry run: that would be written). */
  changed: number;
  /** Entries already as the job wants them. */
  unchanged: number;
  /** Entries left alone, by reason. */
  skipped: Record<string, number>;
  /** Entries that needed a change and did not get it, with why (the DN and the LDAP result where there is one). */
  failed: { dn: string; reason: string; codes?: ErrorCodes }[];
  /** Per-device decisions across every entry. */
  devices: Partial<Record<DeviceAction, number>>;
  /** Compare-and-swap conflicts that were re-read and retried. */
  retried: number;
  /** Set when the run stopped before the end. */
  stopped?: { reason: StopReason; message: string; codes?: ErrorCodes };
  backupFile?: string;
  durationMs: number;
}

export interface RunProgress {
  done: number;
  total?: number;
  /** Entries per second so far. */
  rate: number;
  etaSec?: number;
  changed: number;
  failed: number;
}

/** How one entry ended; `changed` on a dry run means "would be written". */
export type EntryOutcome =
  | { kind: 'changed' }
  /** Already as the job wants it (a rekey: every device under the new key). */
  | { kind: 'unchanged' }
  /** Left as it is; `reason` is the key the summary counts it under in `skipped`. */
  | { kind: 'skipped'; reason: string }
  /** Needed a change and did not get it; `reason` as listed in the summary's `failed`. */
  | { kind: 'failed'; reason: string; codes?: ErrorCodes };

/**
 * One entry's end, for a caller that reports per user. DN, outcome and the per-device decisions
 * (device name, action, KID): never the value or a secret, so a report can be logged as it is.
 */
export interface EntryReport {
  dn: string;
  outcome: EntryOutcome;
  /**
   * The devices of the value the outcome was decided on, as the summary's `devices` tallies them;
   * its length is the device count (0 when the value could not be read).
   */
  devices: readonly DeviceOutcome[];
}

export function emptySummary(job: RunSummary['job'], dryRun: boolean): RunSummary {
  return { job, dryRun, fetched: 0, changed: 0, unchanged: 0, skipped: {}, failed: [], devices: {}, retried: 0, durationMs: 0 };
}

export function tallyDevices(summary: RunSummary, devices: readonly DeviceOutcome[]): void {
  for (const d of devices) summary.devices[d.action] = (summary.devices[d.action] ?? 0) + 1;
}

export function skip(summary: RunSummary, reason: string): void {
  summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
}
