// What a run reports: counts, reasons and DNs — never a value or a secret — shaped the same for
// rekey, encrypt, decrypt and restore so the CLI prints one table and one JSON form.
import type { DeviceAction, DeviceOutcome } from '../otp/index.js';

export type StopReason = 'aborted' | 'error-budget' | 'directory-unavailable' | 'backup-failed';

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
  failed: { dn: string; reason: string }[];
  /** Per-device decisions across every entry. */
  devices: Partial<Record<DeviceAction, number>>;
  /** Compare-and-swap conflicts that were re-read and retried. */
  retried: number;
  /** Set when the run stopped before the end. */
  stopped?: { reason: StopReason; message: string };
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

export function emptySummary(job: RunSummary['job'], dryRun: boolean): RunSummary {
  return { job, dryRun, fetched: 0, changed: 0, unchanged: 0, skipped: {}, failed: [], devices: {}, retried: 0, durationMs: 0 };
}

export function tallyDevices(summary: RunSummary, devices: DeviceOutcome[]): void {
  for (const d of devices) summary.devices[d.action] = (summary.devices[d.action] ?? 0) + 1;
}

export function skip(summary: RunSummary, reason: string): void {
  summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
}
