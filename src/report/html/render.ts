// report.html: the change record of one run, for a change board, an auditor or the operator the
// morning after. One self-contained file — inline CSS, SVG drawn by us, no script, no external
// resource — so it opens offline, can be attached to a ticket, and prints to a readable PDF.
// Everything shown comes from the RunReport, which holds no secret; every string from it is
// escaped, because DNs and appliance messages come from outside and may hold markup.
import { writeFileSync } from 'node:fs';
import type { JsonObject, JsonValue } from '../../runner/json.js';
import type { RunReport, StepReport } from '../run-report.js';
import { esc, slug } from './escape.js';
import { explain } from './explain.js';
import { buildModel, type ApplianceView, type ReportModel } from './model.js';
import { censusRows, censusSvg, COLORS, timelineSvg } from './svg.js';
import type { ErrorCodes } from '../../errors.js';

const STATUS_WORDS: Record<string, string> = {
  succeeded: 'The run finished: every step succeeded.',
  'left-out': 'The run finished without the appliances the failure budget left out: users already moved cannot log on through them until they are fixed and the cutover run again.',
  'locked-out': 'Every step finished, but the check at the end found users who cannot log on through some appliance: a person must act — see “What a person must do”.',
  failed: 'The run failed.',
  'rolled-back': 'The run failed and every change it made was rolled back: the estate is as it was before the run.',
  'rollback-incomplete': 'The run failed and the rollback did not finish: a person must act — see “What a person must do”.',
  interrupted: 'The run was interrupted. The journal is kept: continue with “adc-cutover resume” or undo with “adc-cutover rollback”.',
  refused: 'The run was refused before any change: nothing was changed.',
  running: 'The journal has no end: the run is still going, or its process died. Check with “adc-cutover show”.',
};

const CSS = `
:root { --ok:${COLORS.ok}; --fail:${COLORS.failed}; --skip:${COLORS.skipped}; --undone:${COLORS.undone}; --text:${COLORS.text}; --muted:${COLORS.muted}; --line:#d9dee4; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--text); margin: 0; background: #f4f6f8; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 700; color: #fff; background: var(--skip); white-space: nowrap; }
.s-ok, .s-succeeded { background: var(--ok); }
.s-failed, .s-rollback-incomplete, .s-refused { background: var(--fail); }
.s-rolled-back, .s-undone { background: var(--undone); }
.s-running, .s-interrupted { background: #b7791f; }
.s-not-needed { background: #a48dbd; }
.s-not-run { background: #cfd5dc; color: var(--text); }
.banner { border-radius: 6px; padding: 12px 16px; margin: 14px 0; border-left: 6px solid var(--skip); background: #f1f3f5; }
.banner.ok { border-color: var(--ok); background: #edf7ee; }
.banner.bad { border-color: var(--fail); background: #fdeeee; }
.banner.undone { border-color: var(--undone); background: #f5effa; }
.banner strong { display: block; font-size: 16px; margin-bottom: 2px; }
.actions { border: 2px solid var(--fail); border-radius: 6px; padding: 10px 16px; background: #fff5f5; }
.actions li { margin: 6px 0; }
.err { margin: 8px 0; padding: 8px 12px; border-left: 4px solid var(--fail); background: #fff7f7; }
.err .where { font-weight: 600; }
.err .gloss { color: var(--muted); margin: 4px 0 0; }
.warn { border-left-color: #b7791f; background: #fffaf0; }
ol.steps { list-style: none; padding: 0; margin: 0; counter-reset: step; }
ol.steps > li { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
ol.steps > li > .head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
ol.steps > li > .head .title { font-weight: 600; }
ol.steps .when { color: var(--muted); font-size: 12.5px; margin-left: auto; }
ol.steps table { font-size: 13px; table-layout: fixed; }
ol.steps table th:nth-child(1) { width: 120px; }
ol.steps table th:nth-child(2) { width: 110px; }
/* One appliance per row: certkey names are long and must not break mid-name. */
.grid2 { display: grid; grid-template-columns: 1fr; gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card h3 { margin-top: 0; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 8px 0; }
.muted { color: var(--muted); }
.yes { color: var(--ok); font-weight: 600; }
.no { color: var(--muted); }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .card, .chart, ol.steps > li, .err, .actions, tr { break-inside: avoid; page-break-inside: avoid; }
  /* Status colours carry meaning: keep them on paper. */
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

const fmtDuration = (ms: number | undefined) => {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
};
const between = (a?: string, b?: string) => (a && b ? Date.parse(b) - Date.parse(a) : undefined);
const badge = (status: string, testid?: string) => `<span class="badge s-${slug(status)}"${testid ? ` data-testid="${testid}"` : ''}>${esc(status)}</span>`;
const list = (xs: string[] | null) => (xs === null ? '<span class="muted">unknown</span>' : xs.length === 0 ? '<span class="muted">none</span>' : xs.map((x) => `<code>${esc(x)}</code>`).join(', '));
const yesNo = (v: boolean | null) => (v === null ? '<span class="muted">unknown</span>' : v ? '<span class="yes">yes</span>' : '<span class="no">no</span>');

function errorBlock(where: string, message: string, codes: ErrorCodes | undefined, cls = ''): string {
  const gloss = explain(codes);
  return `<div class="err ${cls}"><div class="where">${esc(where)}</div><div class="msg">${esc(message)}</div>${gloss.length ? `<p class="gloss">${gloss.map(esc).join(' ')}</p>` : ''}</div>`;
}

function header(r: RunReport, plan: JsonObject | undefined): string {
  const name = r.playbook.split('/').at(-1) ?? r.playbook;
  const tone = r.status === 'succeeded' ? 'ok' : r.status === 'rolled-back' ? 'undone' : r.status === 'running' || r.status === 'interrupted' ? '' : 'bad';
  const mode = plan && typeof plan['mode'] === 'string' ? plan['mode'] : '';
  return `
<header>
  <h1>Change record: ${esc(name)}</h1>
  <p class="sub">Run <code data-testid="run-id">${esc(r.runId)}</code>${r.dryRun ? ' — <strong>dry run: nothing was changed</strong>' : ''}</p>
  <div class="banner ${tone}" data-testid="outcome">
    <strong>${badge(r.status, 'run-status')} exit code <span data-testid="exit-code">${esc(r.exitCode ?? '—')}</span></strong>
    <div>${esc(STATUS_WORDS[r.status] ?? r.status)}</div>
    ${r.message ? `<div class="msg" data-testid="run-message">${esc(r.message)}</div>` : ''}
  </div>
  <dl class="facts" data-testid="run-facts">
    <dt>Run by</dt><dd><span data-testid="run-user">${esc(r.user)}</span> on <span data-testid="run-host">${esc(r.host)}</span></dd>
    <dt>Started</dt><dd data-testid="run-started">${esc(r.startedAt)}</dd>
    <dt>Ended</dt><dd data-testid="run-ended">${esc(r.endedAt ?? 'not ended')}${r.endedAt ? ` <span class="muted">(${esc(fmtDuration(between(r.startedAt, r.endedAt)))})</span>` : ''}</dd>
    <dt>Playbook</dt><dd><code data-testid="run-playbook">${esc(r.playbook)}</code></dd>
    <dt>Inventory</dt><dd><code data-testid="run-inventory">${esc(r.inventory)}</code></dd>
    <dt>Plan hash</dt><dd><code data-testid="plan-hash">${esc(r.planHash)}</code></dd>
    ${mode ? `<dt>Mode</dt><dd>${esc(mode)}</dd>` : ''}
    <dt>Attempts</dt><dd>${esc(r.attempts)}${r.attempts > 1 ? ' <span class="muted">(resumed)</span>' : ''}</dd>
    ${r.invariant ? `<dt>Can every user log on?</dt><dd data-testid="invariant">${r.invariant.holds ? 'yes' : '<strong>no</strong>'} — ${esc(r.invariant.message)} <span class="muted">(checked ${esc(r.invariant.at)}, after the ${esc(r.invariant.phase)})</span></dd>` : ''}
  </dl>
</header>`;
}

function actionsSection(r: RunReport): string {
  if (r.actionsRequired.length === 0) return '';
  return `
<section id="actions" aria-labelledby="h-actions">
  <h2 id="h-actions">What a person must do</h2>
  <div class="actions"><p>The rollback did not undo everything. Until these are done by hand the estate is not as it was before the run:</p>
  <ol data-testid="actions-required">${r.actionsRequired.map((a) => `<li>${esc(a)}</li>`).join('')}</ol>
  <p class="muted">Each line names the step, the appliance or directory and why the undo failed. After fixing, <code>adc-cutover rollback ${esc(r.runId)}</code> can be run again: it repeats only what is still to undo.</p></div>
</section>`;
}

function errorsSection(m: ReportModel): string {
  if (m.errors.length === 0 && m.warnings.length === 0) return '';
  return `
<section id="errors" aria-labelledby="h-errors">
  <h2 id="h-errors">Errors and warnings</h2>
  ${m.errors.length ? `<div data-testid="errors">${m.errors.map((e) => errorBlock(e.where, e.message, e.codes)).join('')}</div>` : '<p>No step failed.</p>'}
  ${m.warnings.length ? `<div data-testid="warnings">${m.warnings.map((w) => errorBlock(w.where, w.message, undefined, 'warn')).join('')}</div>` : ''}
</section>`;
}

function stepItem(s: StepReport, i: number): string {
  const targets =
    s.targets.length === 0
      ? ''
      : `
    <table><thead><tr><th>Target</th><th>Result</th><th>What happened</th></tr></thead><tbody>
    ${s.targets.map((t) => `<tr data-target="${esc(t.target)}" data-status="${esc(t.status)}"><td>${esc(t.target)}</td><td>${badge(t.status)}</td><td>${esc(t.message)}</td></tr>`).join('')}
    </tbody></table>`;
  const undo =
    s.rollback.length === 0
      ? ''
      : `
    <h4>Rollback</h4>
    <table data-testid="rollback"><thead><tr><th>Target</th><th>Undo</th><th>What happened</th><th>Took</th></tr></thead><tbody>
    ${s.rollback.map((u) => `<tr data-target="${esc(u.target)}" data-status="${esc(u.status)}"><td>${esc(u.target)}</td><td>${badge(u.status)}</td><td>${esc(u.message)}</td><td class="muted">${u.ms === undefined ? '' : `${(u.ms / 1000).toFixed(1)} s`}</td></tr>`).join('')}
    </tbody></table>`;
  const notes = s.notes.length === 0 ? '' : `<ul>${s.notes.map((n) => `<li><span class="muted">${esc(n.level)} · ${esc(n.target)}:</span> ${esc(n.message)}</li>`).join('')}</ul>`;
  const when = s.startedAt ? `${esc(s.startedAt)}${s.durationMs !== undefined ? ` · ${esc(fmtDuration(s.durationMs))}` : ''}` : 'not started';
  return `
  <li data-testid="step" data-step-id="${esc(s.id)}" data-status="${esc(s.status)}" id="step-${slug(s.id)}">
    <div class="head"><span class="muted">${i + 1}.</span> <span class="title" data-testid="step-title">${esc(s.title)}</span> <code class="muted">${esc(s.id)}</code> ${badge(s.status)}<span class="when">${when}</span></div>
    ${s.error ? errorBlock('Error', s.error, s.errorCodes) : ''}${targets}${undo}${notes}
  </li>`;
}

function timelineSection(r: RunReport, m: ReportModel): string {
  return `
<section id="timeline" aria-labelledby="h-timeline">
  <h2 id="h-timeline">Timeline</h2>
  <p class="muted">One column per step in the order it ran, one row per appliance or the directory; after the dashed line, the rollback in the order it ran. The strip below shows the wall-clock time. Each step’s details are under “Steps”.</p>
  <div class="chart">${timelineSvg(r, m.lanes)}</div>
</section>`;
}

function stepsSection(r: RunReport): string {
  return `
<section id="steps" aria-labelledby="h-steps">
  <h2 id="h-steps">Steps</h2>
  <ol class="steps" data-testid="steps">${r.steps.map(stepItem).join('')}</ol>
</section>`;
}

function censusSection(m: ReportModel, r: RunReport): string {
  if (!m.censusBefore && !m.censusAfter) {
    return `<section id="census" aria-labelledby="h-census"><h2 id="h-census">Directory census</h2><p class="muted">No census was taken in this run.</p></section>`;
  }
  const afterLabel = m.censusAfter ? 'after the re-encryption' : 'after (not measured)';
  const rows = censusRows(m.censusBefore, m.censusAfter);
  const cell = (which: 'before' | 'after', key: string, v: number | null) =>
    `<td class="num${v === null ? ' muted' : ''}" data-testid="census-${which}-${slug(key)}">${v === null ? '—' : esc(v)}</td>`;
  const totals: [string, string, (c: NonNullable<ReportModel['censusBefore']>) => number][] = [
    ['entries', 'entries searched', (c) => c.entries],
    ['with-value', 'entries with a value', (c) => c.withValue],
    ['encrypted-devices', 'encrypted devices (all certificates)', (c) => c.encryptedDevices],
    ['legacy-entries', 'entries with legacy plaintext', (c) => c.legacyEntries],
  ];
  const restored = m.directoryRestored
    ? `<p class="banner undone" data-testid="census-restored">The rollback put the original values back from the backup: the directory is again as in the “before” column.${
        m.censusAfter ? ' The “after” column shows the state the re-encryption reached before it was undone.' : ''
      }</p>`
    : '';
  const notReached = !m.censusAfter && r.steps.some((s) => s.kind === 'rekey-directory') ? '<p class="muted">The re-encryption did not run to its end, so there is no census after it.</p>' : '';
  return `
<section id="census" aria-labelledby="h-census">
  <h2 id="h-census">Directory census</h2>
  <p class="muted">OTP devices per encryption certificate (by KID), legacy plaintext values and values nobody can read, before the run and ${esc(afterLabel)}.</p>
  ${restored}${notReached}
  <div class="chart">${censusSvg(rows, afterLabel)}</div>
  <table data-testid="census"><thead><tr><th>Count</th><th class="num">Before</th><th class="num">After</th></tr></thead><tbody>
  ${rows.map((row) => `<tr><td>${esc(row.label)}${row.hint ? ` <span class="muted mono">${esc(row.hint)}</span>` : ''}</td>${cell('before', row.key, row.before)}${cell('after', row.key, row.after)}</tr>`).join('')}
  ${totals.map(([key, label, f]) => `<tr><td>${esc(label)}</td>${cell('before', key, m.censusBefore ? f(m.censusBefore) : null)}${cell('after', key, m.censusAfter ? f(m.censusAfter) : null)}</tr>`).join('')}
  </tbody></table>
  ${serverTable(m)}
  ${guardTable(m)}
</section>`;
}

/** Several directory servers: devices per server and certificate, as preflight read them. */
function serverTable(m: ReportModel): string {
  if (m.serverCensus.length === 0) return '';
  const n = (v: number | null) => `<td class="num">${v === null ? '—' : esc(v)}</td>`;
  return `<h3>Per directory server, before the run</h3>
  <p class="muted">The old key is unbound only once every server the appliances read shows no device under the old certificate (docs/directory.md).</p>
  <table data-testid="census-servers"><thead><tr><th>Server</th><th class="num">Old certificate</th><th class="num">New certificate</th></tr></thead><tbody>
  ${m.serverCensus.map((s) => (s.error ? `<tr><td>${esc(s.server)}</td><td colspan="2">unreachable: ${esc(s.error)}</td></tr>` : `<tr><td>${esc(s.server)}</td>${n(s.old)}${n(s.new)}</tr>`)).join('')}
  </tbody></table>`;
}

/**
 * Several directory servers: what the unbind's guard read on each when it let the old key go,
 * and how long it waited for each to catch up with the server written to (replication).
 */
function guardTable(m: ReportModel): string {
  if (m.guardCensus.length < 2) return '';
  const n = (v: number | null) => `<td class="num">${v === null ? '—' : esc(v)}</td>`;
  const waited = (s: ReportModel['guardCensus'][number]) => (s.waitedMs === null ? 'not caught up' : `${(s.waitedMs / 1000).toFixed(1)} s`);
  return `<h3>Per directory server, before the unbind</h3>
  <p class="muted">What the guard read on each server when it let the old key go, and how long it waited for each to show every change written before the wait.</p>
  <table data-testid="census-guard"><thead><tr><th>Server</th><th class="num">Old certificate</th><th class="num">New certificate</th><th class="num">Waited</th></tr></thead><tbody>
  ${m.guardCensus
    .map((s) =>
      s.error
        ? `<tr><td>${esc(s.server)}</td><td colspan="3">unreachable${s.allowed ? ' (accepted by allowUnreachable)' : ''}: ${esc(s.error)}</td></tr>`
        : `<tr><td>${esc(s.server)}</td>${n(s.old)}${n(s.new)}<td class="num">${esc(waited(s))}</td></tr>`,
    )
    .join('')}
  </tbody></table>`;
}

function applianceCard(a: ApplianceView): string {
  const id = slug(a.name);
  return `
  <div class="card" data-testid="appliance" data-appliance="${esc(a.name)}">
    <h3>${esc(a.name)}</h3>
    <dl class="facts">
      <dt>Mode</dt><dd>${esc(a.mode)}</dd>
      ${a.primary ? `<dt>Primary</dt><dd><code>${esc(a.primary)}</code></dd>` : ''}
      <dt>OTP encryption</dt><dd>${esc(a.otpEncryption)}</dd>
      <dt>Firmware</dt><dd>${esc(a.firmwareVersion)}</dd>
      <dt>userDataEncryptionKey before</dt><dd data-testid="bindings-before-${id}">${list(a.boundBefore)}</dd>
      <dt>userDataEncryptionKey after</dt><dd data-testid="bindings-after-${id}">${list(a.boundAfter)}</dd>
    </dl>
    <p class="muted">After: ${esc(a.afterSource)}.</p>
    <table data-testid="certkeys-${id}"><thead><tr><th>Certkey</th><th>Role</th><th>Loaded before</th><th>Bound before</th><th>Loaded after</th><th>Bound after</th></tr></thead><tbody>
    ${a.certkeys.map((c) => `<tr data-certkey="${esc(c.name)}"><td><code>${esc(c.name)}</code></td><td>${c.role === 'old' ? 'old certificate' : 'new certificate'}</td><td>${yesNo(c.before)}</td><td>${yesNo(c.boundBefore)}</td><td>${yesNo(c.after)}</td><td>${yesNo(c.boundAfter)}</td></tr>`).join('')}
    </tbody></table>
  </div>`;
}

function appliancesSection(m: ReportModel): string {
  if (m.appliances.length === 0) return '';
  return `
<section id="appliances" aria-labelledby="h-appliances">
  <h2 id="h-appliances">Appliances: certkeys and userDataEncryptionKey bindings</h2>
  <div class="grid2">${m.appliances.map(applianceCard).join('')}</div>
</section>`;
}

function logonSection(m: ReportModel): string {
  if (m.logons.length === 0) return '';
  return `
<section id="logons" aria-labelledby="h-logons">
  <h2 id="h-logons">Logon checks</h2>
  <p class="muted">A real OTP logon of the canary user through each appliance’s gateway, proving users can still log on.</p>
  <table data-testid="logons"><thead><tr><th>Check</th><th>Appliance</th><th>Outcome</th><th>Gateway and result</th></tr></thead><tbody>
  ${m.logons.map((l) => `<tr data-testid="logon" data-step="${esc(l.stepId)}" data-target="${esc(l.target)}" data-status="${esc(l.status)}"><td>${esc(l.stepTitle)}</td><td>${esc(l.target)}</td><td>${badge(l.status)}</td><td>${esc(l.message)}</td></tr>`).join('')}
  </tbody></table>
</section>`;
}

const isObj = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);

function planSection(r: RunReport, plan: JsonObject | undefined): string {
  if (!plan) return `<section id="plan"><h2>The plan</h2><p class="muted">The journal holds no plan. Plan hash: <code>${esc(r.planHash)}</code>.</p></section>`;
  const warnings = arr(plan['warnings']).map(String);
  const steps = arr(plan['steps']).filter(isObj);
  return `
<section id="plan" aria-labelledby="h-plan">
  <h2 id="h-plan">The plan that was approved</h2>
  <p>Plan hash <code data-testid="plan-doc-hash">${esc(plan['hash'] ?? r.planHash)}</code> — the run re-checked live state against this plan right before its first write and would have refused on any drift.</p>
  ${warnings.length ? `<h3>Warnings in the plan</h3><ul data-testid="plan-warnings">${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
  <table data-testid="plan-steps"><thead><tr><th>Step</th><th>Target</th><th>Planned change</th></tr></thead><tbody>
  ${steps
    .map((s) => {
      const changes = arr(s['changes']).filter(isObj);
      const title = `<td rowspan="${Math.max(1, changes.length)}">${esc(s['title'])} <code class="muted">${esc(s['id'])}</code></td>`;
      if (changes.length === 0) return `<tr>${title}<td colspan="2" class="muted">reads only</td></tr>`;
      return changes.map((c, i) => `<tr>${i === 0 ? title : ''}<td>${esc(c['target'])}</td><td>${esc(c['description'])}</td></tr>`).join('');
    })
    .join('')}
  </tbody></table>
</section>`;
}

/** The whole page as a string; pure, so tests and other callers can render without a disk. */
export function renderHtmlReport(r: RunReport): string {
  const m = buildModel(r);
  const plan = isObj(r.plan) ? r.plan : undefined;
  const name = r.playbook.split('/').at(-1) ?? r.playbook;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<title>${esc(`${r.status} — ${name} — run ${r.runId}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main data-run-id="${esc(r.runId)}" data-status="${esc(r.status)}">
${header(r, plan)}
${actionsSection(r)}
${errorsSection(m)}
${timelineSection(r, m)}
${censusSection(m, r)}
${appliancesSection(m)}
${logonSection(m)}
${stepsSection(r)}
${planSection(r, plan)}
<footer>Written by adc-cutover from the run’s journal (report.json beside this file holds the same facts as data). It holds no password, key, passphrase or OTP secret.</footer>
</main>
</body>
</html>
`;
}

/** Writes report.html beside report.json; same 0600 mode, since the record names the estate. */
export function writeHtmlReport(path: string, report: RunReport): void {
  writeFileSync(path, renderHtmlReport(report), { mode: 0o600 });
}
