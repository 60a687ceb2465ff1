// The files a run leaves for people once it has ended: report.json, report.html, the JUnit file.
// They are written after the journal's run-end, so the run's outcome (changes made, rolled back
// or not, exit code) is already decided and recorded when they are. A disk that fills up just
// then must not turn a cutover that stands into "internal error", exit 1: the outcome stays, and
// one warning says which file is missing and why; the journal holds everything the reports
// would have said (`adc-cutover show <run-id>` rebuilds the report from it).
import { rmSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { errorMessage } from '../errors.js';
import { writeReport, type RunReport } from './run-report.js';
import { writeJUnit } from './junit.js';
import { writeHtmlReport } from './html/index.js';

export interface ReportFiles {
  json: string;
  html: string;
  junit?: string;
}

/** Writes every report file it can; returns one warning for those it could not, or undefined. */
export function writeReportFiles(files: ReportFiles, report: RunReport, journal: string): string | undefined {
  const failed: string[] = [];
  const attempt = (path: string, write: () => void) => {
    try {
      write();
    } catch (err) {
      // The errno and the system's words for it ("ENOSPC: no space left on device"), from the
      // error's own fields rather than its message.
      const { code, errno } = err as NodeJS.ErrnoException;
      const words = (errno !== undefined ? getSystemErrorMap().get(errno)?.[1] : undefined) ?? errorMessage(err);
      failed.push(`${path} (${code ? `${code}: ` : ''}${words})`);
      // A short write leaves a torn file that `show` would trust over the journal.
      try {
        rmSync(path, { force: true });
      } catch {
        // Nothing more to do: the warning names the file.
      }
    }
  };
  attempt(files.json, () => writeReport(files.json, report));
  attempt(files.html, () => writeHtmlReport(files.html, report));
  if (files.junit) {
    const junit = files.junit;
    attempt(junit, () => writeJUnit(junit, report));
  }
  if (failed.length === 0) return undefined;
  return (
    `could not write ${failed.join('; ')}. The run's outcome stands (${report.status}, exit ${report.exitCode ?? '?'}); ` +
    `its journal ${journal} has every record: 'adc-cutover show ${report.runId}' rebuilds the report from it once there is room`
  );
}
