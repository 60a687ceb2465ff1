// --junit FILE: one test case per step × target, so CI shows which appliance failed which step.
import { writeFileSync } from 'node:fs';
import { redact } from '../runner/redact.js';
import type { RunReport } from './run-report.js';

const esc = (s: string) => redact(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function writeJUnit(path: string, report: RunReport): void {
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const step of report.steps) {
    const targets = step.targets.length ? step.targets : [{ target: 'run', status: step.status, message: step.error ?? step.status }];
    for (const t of targets) {
      const secs = ((step.durationMs ?? 0) / 1000 / targets.length).toFixed(3);
      let body = '';
      if (t.status === 'failed' || (step.status === 'failed' && t.status !== 'ok')) {
        failures++;
        body = `<failure message="${esc(t.message)}">${esc(step.error ?? t.message)}</failure>`;
      } else if (t.status === 'skipped' || t.status === 'not-run') {
        skipped++;
        body = `<skipped message="${esc(t.message)}"/>`;
      }
      const rolled = step.rollback
        .filter((r) => r.target === t.target)
        .map((r) => `rollback ${r.status}: ${r.message}`)
        .join('\n');
      if (rolled) body += `<system-out>${esc(rolled)}</system-out>`;
      cases.push(`    <testcase classname="${esc(step.id)}" name="${esc(`${step.title} @ ${t.target}`)}" time="${secs}">${body}</testcase>`);
    }
  }
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="adc-cutover" tests="${cases.length}" failures="${failures}">
  <testsuite name="${esc(`run ${report.runId}`)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" timestamp="${esc(report.startedAt)}">
${cases.join('\n')}
  </testsuite>
</testsuites>
`;
  writeFileSync(path, xml, { mode: 0o600 });
}
