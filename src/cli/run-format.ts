// Plans and reports in words an operator reads during a change window.
import type { PlanDoc } from '../cutover/execute.js';
import type { RunReport } from '../report/run-report.js';

export function formatPlan(p: PlanDoc): string {
  const lines = [`Plan ${p.hash}${p.dryRun ? ' (dry run)' : ''} — ${p.playbook}`, `  inventory ${p.inventory}, mode ${p.mode}`, ''];
  for (const a of p.appliances) {
    const f = a.facts;
    lines.push(`  ${a.name}: ${role(f)}`);
    lines.push(`      current key: ${currentKey(f)}`);
    lines.push(`      firmware: ${firmware(f, p.mode)}`);
    if (a.changes?.length) lines.push(`      will change: ${a.changes.join('; ')}`);
    else lines.push('      will change: nothing');
  }
  lines.push('');
  if (p.fleet?.length || p.failureBudget) {
    lines.push('  Fleet:');
    for (const l of p.fleet ?? []) lines.push(`    - ${l}`);
    if (p.failureBudget) lines.push(`    - ${p.failureBudget}`);
    if (p.canaries) lines.push(`    - ${p.canaries}`);
    lines.push('');
  }
  lines.push(...formatDirectory(p));
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

function formatDirectory(p: PlanDoc): string[] {
  const d = p.directory;
  if (!d) return [];
  const lines = ['  Directory:'];
  for (const s of d.servers) {
    const census = s.census ? `${s.census.old} device(s) under the old certificate, ${s.census.new} under the new` : `not readable: ${s.error ?? 'unknown'}`;
    lines.push(
      `    - ${s.name} ${s.url}${s.writes ? ' (writes go here)' : ''}${s.source === 'action' ? ' (named by an LDAP action only, not in the inventory)' : ''}; read by ${s.readBy.join(', ') || 'no appliance'}; ${census}`,
    );
  }
  for (const a of d.actions) lines.push(`    - ${a.appliance}: LDAP action ${a.action} reads ${a.server}, OTP attribute ${a.otpSecret}, base ${a.base}, filter ${a.filter}`);
  for (const f of d.fromActions) lines.push(`    - from the appliances: ${f}`);
  lines.push(`    - guard: ${d.guard}`, '');
  return lines;
}

export function formatReport(r: RunReport): string {
  const lines = [`Run ${r.runId}: ${r.status}${r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ''}${r.dryRun ? ' — dry run, nothing was changed' : ''}`];
  if (r.message) lines.push(`  ${r.message}`);
  lines.push(`  ${r.playbook} on ${r.inventory}; started ${r.startedAt} by ${r.user}${r.endedAt ? `, ended ${r.endedAt}` : ''}${r.attempts > 1 ? `, ${r.attempts} attempts` : ''}`);
  for (const n of r.notes ?? []) lines.push(`  ${n.level === 'warn' ? '⚠' : 'ℹ'} ${n.target}: ${n.message}`);
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
  if (r.rollbackUnfinished) lines.push('', `  Finish the rollback: adc-cutover rollback ${r.runId}    (resume is refused once a rollback has started)`);
  else if (r.status === 'interrupted') lines.push('', `  Continue: adc-cutover resume ${r.runId}    Undo: adc-cutover rollback ${r.runId}`);
  return lines.join('\n') + '\n';
}

function role(f: Record<string, unknown>): string {
  const mode = String(f['mode'] ?? '?');
  if (mode === 'ha') {
    const sync = f['haSync'] ? `, HA sync ${String(f['haSync'])}` : '';
    const secondary = f['secondary']
      ? `secondary ${String(f['secondary'])} (${String(f['peerState'] ?? 'state unknown')}; read back, never written)`
      : 'secondary not reachable or not given: file sync and bindings cannot be checked there';
    return `HA pair, one target: primary ${String(f['primary'])} takes the writes; ${secondary}${sync}`;
  }
  if (mode === 'cluster') return `cluster, configured through ${String(f['primary'])}`;
  return `stand-alone ${String(f['primary'] ?? '')}`.trim();
}

function currentKey(f: Record<string, unknown>): string {
  const bound = (f['bound'] as string[] | undefined) ?? [];
  const label = (k: string) => (k === f['oldCertkey'] ? `${k} (old certificate)` : k === f['newCertkey'] ? `${k} (new certificate)` : `${k} (neither certificate of this run)`);
  return `userDataEncryptionKey ${bound.map(label).join(', ') || 'none bound'}${f['newCertkey'] && !bound.includes(String(f['newCertkey'])) ? `; the new certificate is loaded as ${String(f['newCertkey'])}` : ''}`;
}

function firmware(f: Record<string, unknown>, mode: string): string {
  const version = typeof f['firmwareVersion'] === 'string' ? `${f['firmwareVersion']} (nsversion); ` : 'version not reported; ';
  return version + keys(f, mode);
}

function keys(f: Record<string, unknown>, mode: string): string {
  switch (f['capability']) {
    case 'multi':
      return 'holds several userDataEncryptionKey bindings (two are bound now): overlap';
    case 'single':
      return 'holds one userDataEncryptionKey at a time: swap after the re-encryption';
    default:
      return mode === 'auto' ? autoRule(f) : `not known yet; mode ${mode}`;
  }
}

/**
 * Mode auto turns an appliance to swap (an outage) only on the evidence detectMultiBinding
 * (src/nitro/otp-binding.ts) identifies, so the plan states that evidence rather than "swap if the
 * bind is refused": a refusal of any other kind stops the run, and the operator should know it.
 */
function autoRule(f: Record<string, unknown>): string {
  const bound = ((f['bound'] as string[] | undefined) ?? []).join(', ');
  const boundNow = bound ? `the key bound now (${bound})` : 'the key bound now';
  return (
    'not known yet (no read tells): the overlap bind probes it; overlap if both keys are listed after it; ' +
    `swap after the re-encryption only on evidence of one key at a time: the bind refused with errorcode 278 naming ${boundNow}, ` +
    'or the bind replacing that key (put back at once); any other refusal stops the run and rolls it back (if this firmware holds one key at a time, run with mode: swap)'
  );
}
