// Plans and reports in words an operator reads during a change window.
import type { PlanDoc } from '../playbook/execute.js';
import type { RunReport } from '../runner/report.js';

export function formatPlan(p: PlanDoc): string {
  const lines = [`Plan ${p.hash}${p.dryRun ? ' (dry run)' : ''} — ${p.playbook}`, `  inventory ${p.inventory}, mode ${p.mode}`, ''];
  for (const a of p.appliances) {
    const f = a.facts;
    lines.push(`  ${a.name}: ${String(f['mode'] ?? '?')}${f['primary'] ? ` (primary ${String(f['primary'])})` : ''}; bound: ${(f['bound'] as string[] | undefined)?.join(', ') || 'none'}`);
  }
  lines.push('');
  p.steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.title}`);
    for (const c of s.changes) lines.push(`       ${c.target}: ${c.description}`);
  });
  if (p.warnings.length) {
    lines.push('', '  Warnings:');
    for (const w of p.warnings) lines.push(`   ⚠ ${w}`);
  }
  return lines.join('\n') + '\n\n';
}

export function formatReport(r: RunReport): string {
  const lines = [`Run ${r.runId}: ${r.status}${r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ''}${r.dryRun ? ' — dry run, nothing was changed' : ''}`];
  if (r.message) lines.push(`  ${r.message}`);
  lines.push(`  ${r.playbook} on ${r.inventory}; started ${r.startedAt} by ${r.user}${r.endedAt ? `, ended ${r.endedAt}` : ''}${r.attempts > 1 ? `, ${r.attempts} attempts` : ''}`);
  for (const s of r.steps) {
    const mark = { ok: '✔', failed: '✖', skipped: '–', running: '…', 'not-run': '·' }[s.status];
    lines.push(`  ${mark} ${s.title}${s.durationMs !== undefined ? ` (${(s.durationMs / 1000).toFixed(1)} s)` : ''}${s.status === 'not-run' ? ' — not run' : ''}`);
    for (const t of s.targets) lines.push(`      ${t.target}: ${t.message}`);
    if (s.error && s.targets.every((t) => t.status !== 'failed')) lines.push(`      error: ${s.error}`);
    for (const u of s.rollback) lines.push(`      ↩ ${u.target}: ${u.status} — ${u.message}`);
  }
  if (r.actionsRequired.length) {
    lines.push('', '  A person must act:');
    for (const a of r.actionsRequired) lines.push(`   → ${a}`);
  }
  if (r.status === 'interrupted') lines.push('', `  Continue: adc-cutover resume ${r.runId}    Undo: adc-cutover rollback ${r.runId}`);
  return lines.join('\n') + '\n';
}
