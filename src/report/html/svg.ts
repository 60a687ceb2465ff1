// The two charts of the change record, drawn as inline SVG by our own code: the page must be one
// file that opens offline, prints, and loads nothing — no chart library, no script, no font.
// Every label goes through esc(): target and certificate names come from the estate.
import type { RunReport, StepReport } from '../run-report.js';
import { esc } from './escape.js';
import type { CensusView } from './model.js';

/** Status colours, shared with the page's CSS legend so a printed page reads the same. */
export const COLORS = {
  ok: '#2e7d32',
  skipped: '#9e9e9e',
  failed: '#c62828',
  running: '#f9a825',
  undone: '#6a1b9a',
  notNeeded: '#c5b3d6',
  before: '#4a6fa5',
  after: '#e08a1e',
  grid: '#d0d4da',
  text: '#1f2933',
  muted: '#616e7c',
} as const;

const W = 1000;
const fmtS = (ms: number) => (ms >= 100_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`);
const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : NaN);

function statusColor(status: string): string {
  switch (status) {
    case 'ok':
      return COLORS.ok;
    case 'failed':
      return COLORS.failed;
    case 'running':
      return COLORS.running;
    case 'undone':
      return COLORS.undone;
    case 'not-needed':
      return COLORS.notNeeded;
    default:
      return COLORS.skipped;
  }
}

const SHORT: Record<string, string> = { ok: 'ok', skipped: 'skip', failed: 'FAIL', running: 'cut', undone: 'undone', 'not-needed': 'kept' };

interface Column {
  step: StepReport;
  rollback: boolean;
}

/**
 * Steps per target (appliance or directory) in run order, then the rollback in the order it ran.
 * Columns are of equal width — a 30-second logon wait would otherwise squash every other step to
 * a hairline — and a proportional strip underneath shows where the wall-clock time really went.
 */
export function timelineSvg(r: RunReport, lanes: string[]): string {
  // Rollback runs the undo of every started step in reverse order of start.
  const undoSteps = r.steps.filter((s) => s.rollback.length > 0).sort((a, b) => (ms(b.startedAt) || 0) - (ms(a.startedAt) || 0));
  const cols: Column[] = [...r.steps.map((step) => ({ step, rollback: false })), ...undoSteps.map((step) => ({ step, rollback: true }))];
  const labelW = 130;
  // Room for the rotated step labels: their height follows the longest one (11 px text ≈ 6.2 units a character, sin 50° ≈ 0.77).
  const longest = Math.max(8, ...cols.map((c) => c.step.id.length + 4));
  const headerH = Math.round(24 + Math.min(180, longest * 6.2 * 0.77));
  const laneH = 30;
  // Step labels are rotated and lean right past their column: 80 units stay free for the last ones.
  const colW = Math.max(30, Math.min(110, (W - labelW - 80) / Math.max(1, cols.length)));
  const gridBottom = headerH + lanes.length * laneH;
  const stripY = gridBottom + 52;
  const height = stripY + 64;
  const t0 = ms(r.startedAt);
  const tEnd = ms(r.endedAt) || Math.max(t0, ...r.steps.map((s) => ms(s.endedAt)).filter((x) => !Number.isNaN(x)));
  const out: string[] = [];
  out.push(`<svg viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-labelledby="tl-title" data-testid="timeline-chart" font-family="system-ui, sans-serif" font-size="11">`);
  out.push(`<title id="tl-title">Timeline of run ${esc(r.runId)}: each step per target, then the rollback</title>`);
  out.push(
    `<defs><pattern id="notrun" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f5f7"/><line x1="0" y1="0" x2="0" y2="6" stroke="${COLORS.grid}" stroke-width="2"/></pattern></defs>`,
  );
  // Lane labels and guide lines.
  lanes.forEach((lane, i) => {
    const y = headerH + i * laneH;
    out.push(`<rect x="0" y="${y}" width="${labelW + cols.length * colW}" height="${laneH}" fill="${i % 2 ? '#ffffff' : '#f7f9fb'}"/>`);
    out.push(`<text x="${labelW - 8}" y="${y + laneH / 2 + 4}" text-anchor="end" font-weight="600" fill="${COLORS.text}">${esc(lane)}</text>`);
  });
  const rollbackStart = r.steps.length;
  if (undoSteps.length > 0) {
    const x = labelW + rollbackStart * colW;
    out.push(`<line x1="${x}" y1="${headerH - 6}" x2="${x}" y2="${gridBottom + 40}" stroke="${COLORS.undone}" stroke-width="2" stroke-dasharray="5 3"/>`);
    out.push(`<text x="${x + 4}" y="${gridBottom + 38}" fill="${COLORS.undone}" font-weight="600">rollback →</text>`);
  }
  cols.forEach((c, ci) => {
    const x = labelW + ci * colW;
    const cx = x + colW / 2;
    const label = c.rollback ? `↶ ${c.step.id}` : `${ci + 1}. ${c.step.id}`;
    out.push(`<text transform="translate(${cx + 3},${headerH - 8}) rotate(-50)" fill="${c.rollback ? COLORS.undone : COLORS.text}">${esc(label)}<title>${esc(c.step.title)}</title></text>`);
    if (!c.rollback && c.step.status === 'not-run') {
      out.push(`<rect x="${x + 2}" y="${headerH + 2}" width="${colW - 4}" height="${lanes.length * laneH - 4}" fill="url(#notrun)" rx="3"><title>${esc(c.step.title)}: not run</title></rect>`);
      out.push(`<text x="${cx}" y="${gridBottom + 14}" text-anchor="middle" fill="${COLORS.muted}">not run</text>`);
      return;
    }
    lanes.forEach((lane, li) => {
      const y = headerH + li * laneH;
      let status: string | undefined;
      let tip = '';
      if (c.rollback) {
        const us = c.step.rollback.filter((u) => u.target === lane);
        if (us.length === 0) return;
        status = us.some((u) => u.status === 'failed') ? 'failed' : us.some((u) => u.status === 'undone') ? 'undone' : 'not-needed';
        tip = us.map((u) => `${u.status}: ${u.message}`).join('\n');
      } else {
        const t = c.step.targets.find((x2) => x2.target === lane);
        if (!t) return;
        status = t.status;
        tip = t.message;
      }
      const fill = statusColor(status);
      const light = status === 'not-needed' || status === 'skipped';
      out.push(`<g data-lane="${esc(lane)}" data-step="${esc(c.step.id)}" data-status="${esc(status)}"${c.rollback ? ' data-rollback="true"' : ''}>`);
      out.push(
        `<rect x="${x + 3}" y="${y + 4}" width="${colW - 6}" height="${laneH - 8}" rx="3" fill="${fill}"${c.rollback && !light ? ` stroke="${COLORS.text}" stroke-width="0.5"` : ''}><title>${esc(`${c.step.title} — ${lane}\n${tip}`)}</title></rect>`,
      );
      out.push(`<text x="${cx}" y="${y + laneH / 2 + 4}" text-anchor="middle" fill="${light ? COLORS.text : '#ffffff'}" font-size="10" font-weight="600">${esc(SHORT[status] ?? status)}</text>`);
      out.push('</g>');
    });
    if (!c.rollback) {
      const start = ms(c.step.startedAt);
      if (!Number.isNaN(start) && !Number.isNaN(t0)) {
        out.push(`<text x="${cx}" y="${gridBottom + 14}" text-anchor="middle" fill="${COLORS.muted}" font-size="10">+${esc(fmtS(start - t0))}</text>`);
      }
      if (c.step.durationMs !== undefined) {
        out.push(`<text x="${cx}" y="${gridBottom + 27}" text-anchor="middle" fill="${COLORS.text}" font-size="10">${esc(fmtS(c.step.durationMs))}</text>`);
      }
    }
  });
  out.push(`<text x="${labelW - 8}" y="${gridBottom + 14}" text-anchor="end" fill="${COLORS.muted}" font-size="10">started at</text>`);
  out.push(`<text x="${labelW - 8}" y="${gridBottom + 27}" text-anchor="end" fill="${COLORS.muted}" font-size="10">took</text>`);
  // The proportional strip: wall-clock time from the run's start to its end.
  const total = tEnd - t0;
  const stripW = W - labelW - 10;
  out.push(`<text x="${labelW - 8}" y="${stripY + 14}" text-anchor="end" fill="${COLORS.muted}" font-size="10">wall clock</text>`);
  out.push(`<rect x="${labelW}" y="${stripY}" width="${stripW}" height="20" fill="#eef1f4" rx="2"/>`);
  if (total > 0 && Number.isFinite(total)) {
    r.steps.forEach((s, i) => {
      const a = ms(s.startedAt);
      const b = ms(s.endedAt);
      if (Number.isNaN(a)) return;
      const end = Number.isNaN(b) ? tEnd : b;
      const x = labelW + ((a - t0) / total) * stripW;
      const w = Math.max(1.5, ((end - a) / total) * stripW);
      const fill = s.status === 'failed' ? COLORS.failed : i % 2 ? '#7b9acc' : COLORS.before;
      out.push(`<rect x="${x.toFixed(1)}" y="${stripY}" width="${w.toFixed(1)}" height="20" fill="${fill}"><title>${esc(`${i + 1}. ${s.title}: ${fmtS(end - a)}`)}</title></rect>`);
      if (w > 26) out.push(`<text x="${(x + w / 2).toFixed(1)}" y="${stripY + 14}" text-anchor="middle" fill="#ffffff" font-size="10">${i + 1}</text>`);
    });
    // The journal does not time each undo, but the rollback is what ran after the last step ended.
    const lastEnd = Math.max(...r.steps.map((s) => ms(s.endedAt)).filter((x) => !Number.isNaN(x)));
    if (undoSteps.length > 0 && Number.isFinite(lastEnd) && tEnd > lastEnd) {
      const x = labelW + ((lastEnd - t0) / total) * stripW;
      const w = Math.max(1.5, ((tEnd - lastEnd) / total) * stripW);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${stripY}" width="${w.toFixed(1)}" height="20" fill="${COLORS.undone}" data-testid="rollback-span"><title>${esc(`rollback: ${fmtS(tEnd - lastEnd)}`)}</title></rect>`,
      );
      if (w > 60) out.push(`<text x="${(x + w / 2).toFixed(1)}" y="${stripY + 14}" text-anchor="middle" fill="#ffffff" font-size="10">rollback</text>`);
    }
    out.push(`<text x="${labelW}" y="${stripY + 34}" fill="${COLORS.muted}" font-size="10">0 s</text>`);
    out.push(`<text x="${labelW + stripW}" y="${stripY + 34}" text-anchor="end" fill="${COLORS.muted}" font-size="10">${esc(fmtS(total))} (run end, rollback included)</text>`);
  }
  // Legend.
  const legend: [string, string][] = [
    ['ok', COLORS.ok],
    ['skipped', COLORS.skipped],
    ['failed', COLORS.failed],
    ['rolled back (undone)', COLORS.undone],
    ['kept (nothing to undo)', COLORS.notNeeded],
  ];
  let lx = labelW;
  for (const [name, color] of legend) {
    out.push(`<rect x="${lx}" y="${stripY + 44}" width="12" height="12" rx="2" fill="${color}"/><text x="${lx + 16}" y="${stripY + 54}" fill="${COLORS.text}">${esc(name)}</text>`);
    lx += 24 + name.length * 6.2;
  }
  out.push('</svg>');
  return out.join('\n');
}

export interface CensusRow {
  key: string;
  label: string;
  hint?: string;
  before: number | null;
  after: number | null;
}

/** The rows the census chart and its table share, so the two can never disagree. */
export function censusRows(before: CensusView | null, after: CensusView | null): CensusRow[] {
  const rows: CensusRow[] = [];
  const kids = new Map<string, { label: string }>();
  for (const c of [before, after]) for (const k of c?.byKid ?? []) if (!kids.has(k.kid)) kids.set(k.kid, { label: k.label });
  const labelCount = new Map<string, number>();
  for (const { label } of kids.values()) labelCount.set(label, (labelCount.get(label) ?? 0) + 1);
  for (const [kid, { label }] of kids) {
    const d = (c: CensusView | null) => (c ? (c.byKid.find((k) => k.kid === kid)?.devices ?? 0) : null);
    // Two unknown certificates would share a label; the KID keeps their keys apart.
    const key = `devices-${labelCount.get(label)! > 1 ? `${label}-${kid}` : label}`;
    rows.push({ key, label: `devices under the ${label}`, hint: `KID ${kid}`, before: d(before), after: d(after) });
  }
  const pick = (f: (c: CensusView) => number) => [before ? f(before) : null, after ? f(after) : null] as const;
  const add = (key: string, label: string, [b, a]: readonly [number | null, number | null], always = true) => {
    if (always || (b ?? 0) > 0 || (a ?? 0) > 0) rows.push({ key, label, before: b, after: a });
  };
  add(
    'legacy-devices',
    'legacy plaintext devices',
    pick((c) => c.legacyDevices),
  );
  add(
    'unreadable',
    'unreadable values',
    pick((c) => c.unreadable),
  );
  add(
    'multi-valued',
    'multi-valued entries',
    pick((c) => c.multiValued),
    false,
  );
  add(
    'empty',
    'entries without a value',
    pick((c) => c.empty),
  );
  return rows;
}

export function censusSvg(rows: CensusRow[], afterLabel: string): string {
  const labelW = 290;
  const barArea = W - labelW - 90;
  const rowH = 46;
  const top = 34;
  const height = top + rows.length * rowH + 10;
  const max = Math.max(1, ...rows.flatMap((r) => [r.before ?? 0, r.after ?? 0]));
  const out: string[] = [];
  out.push(`<svg viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-labelledby="census-title" data-testid="census-chart" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<title id="census-title">Directory census before the run and ${esc(afterLabel)}</title>`);
  out.push(`<rect x="${labelW}" y="6" width="12" height="12" fill="${COLORS.before}"/><text x="${labelW + 16}" y="17" fill="${COLORS.text}">before the run</text>`);
  out.push(`<rect x="${labelW + 140}" y="6" width="12" height="12" fill="${COLORS.after}"/><text x="${labelW + 156}" y="17" fill="${COLORS.text}">${esc(afterLabel)}</text>`);
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    out.push(`<g data-census-row="${esc(row.key)}">`);
    out.push(`<line x1="${labelW}" y1="${y}" x2="${labelW}" y2="${y + rowH - 8}" stroke="${COLORS.grid}"/>`);
    out.push(`<text x="${labelW - 10}" y="${y + 17}" text-anchor="end" fill="${COLORS.text}" font-weight="600">${esc(row.label)}</text>`);
    if (row.hint) out.push(`<text x="${labelW - 10}" y="${y + 31}" text-anchor="end" fill="${COLORS.muted}" font-size="10">${esc(row.hint)}</text>`);
    (
      [
        ['before', row.before, COLORS.before, 0],
        ['after', row.after, COLORS.after, 18],
      ] as const
    ).forEach(([which, v, color, dy]) => {
      const by = y + 4 + dy;
      if (v === null) {
        out.push(`<text x="${labelW + 6}" y="${by + 12}" fill="${COLORS.muted}" font-size="11">not measured</text>`);
        return;
      }
      const w = v === 0 ? 0 : Math.max(2, (v / max) * barArea);
      out.push(`<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="15" fill="${color}" rx="2"><title>${esc(`${row.label}, ${which}: ${v}`)}</title></rect>`);
      out.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${by + 12}" fill="${COLORS.text}" font-size="11">${v}</text>`);
    });
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n');
}
