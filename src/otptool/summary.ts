// The summary the vendor tool's users expect at the end — fetched, modified, not modified, with
// why — so a runbook's "check the counts" step still reads the same. Arithmetic holds:
// fetched = modified + not modified; failed users are among the not modified.
import type { RunSummary } from '../rekey/index.js';
import { OPERATION_NAMES, type OtptoolSettings } from './args.js';
import { skipText, unchangedText } from './outcomes.js';

export function vendorSummary(s: RunSummary, settings: OtptoolSettings, extras: { logFile: string; restoreHint?: string }): string {
  const users = (n: number) => `${n} user${n === 1 ? '' : 's'}`;
  const notModified = s.fetched - s.changed;
  const reasons: [number, string][] = [
    [s.unchanged, settings.targetAttribute ? `${settings.targetAttribute} already holds the same devices` : unchangedText(s.job === 'restore' ? 'rekey' : s.job)],
    ...Object.entries(s.skipped).map(([r, n]): [number, string] => [n, skipText(r, s.job === 'restore' ? 'rekey' : s.job)]),
    [s.failed.length, 'failed (see below and the log)'],
  ];
  const width = String(Math.max(1, ...reasons.map(([n]) => n))).length;
  const lines = [
    `Operation ${settings.operation}: ${OPERATION_NAMES[settings.operation]}${s.dryRun ? ' — DRY RUN, nothing written' : ''}`,
    `Directory ${settings.url}, base ${settings.base}, filter ${settings.filter}`,
    `Attribute ${settings.attribute}${settings.targetAttribute ? ` → ${settings.targetAttribute} (copy: ${settings.attribute} is not changed)` : ''}`,
    '',
    `Fetched ${users(s.fetched)}`,
    `${s.dryRun ? 'Would modify' : 'Modified'} ${users(s.changed)}`,
    `Not modified ${users(notModified)}${notModified > 0 ? ':' : ''}`,
    ...reasons.filter(([n]) => n > 0).map(([n, why]) => `  ${String(n).padStart(width)}  ${why}`),
  ];
  for (const f of s.failed.slice(0, 20)) lines.push(`FAILED ${f.dn}: ${f.reason}`);
  if (s.failed.length > 20) lines.push(`… and ${s.failed.length - 20} more in ${extras.logFile}`);
  if (s.stopped) lines.push(`STOPPED (${s.stopped.reason}): ${s.stopped.message}`);
  lines.push('');
  if (s.backupFile) lines.push(`Backup ${s.backupFile} (sealed; ${extras.restoreHint ?? `undo with: adc-cutover directory restore ${s.backupFile} …`})`);
  lines.push(`Log ${extras.logFile}`, `Took ${(s.durationMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}
