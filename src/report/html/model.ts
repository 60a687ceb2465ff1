// The facts the change record shows, pulled out of a RunReport. Bindings and deleted certkeys
// come from the typed fields of targets and undos; the `changed` payloads (preflight's facts,
// censuses) are free-form JSON written by each step, so every read of those is defensive: a
// missing or oddly-shaped field gives "unknown" on the page, never a crash that loses the record.
import type { JsonObject, JsonValue } from '../../runner/json.js';
import type { RunReport, StepReport } from '../run-report.js';
import type { ErrorCodes } from '../../errors.js';

export interface KidCount {
  kid: string;
  label: string;
  held: boolean;
  devices: number;
  entries: number;
}

export interface CensusView {
  entries: number;
  withValue: number;
  empty: number;
  legacyEntries: number;
  legacyDevices: number;
  encryptedEntries: number;
  encryptedDevices: number;
  multiValued: number;
  unreadable: number;
  byKid: KidCount[];
}

export interface CertkeyRow {
  name: string;
  role: 'old' | 'new';
  before: boolean | null;
  after: boolean | null;
  boundBefore: boolean | null;
  boundAfter: boolean | null;
}

export interface ApplianceView {
  name: string;
  mode: string;
  primary: string;
  otpEncryption: string;
  /** As nsversion reported it at preflight ("14.1-25.56"), or "not reported". */
  firmwareVersion: string;
  boundBefore: string[] | null;
  boundAfter: string[] | null;
  /** Where `boundAfter` comes from, said in words on the page (it is evidence, not a guess). */
  afterSource: string;
  certkeys: CertkeyRow[];
}

export interface LogonView {
  stepId: string;
  stepTitle: string;
  target: string;
  status: string;
  message: string;
}

export interface ErrorView {
  where: string;
  message: string;
  /** The failure's codes, explained beside the message. */
  codes?: ErrorCodes;
}

/** Devices per directory server and certificate, before the run (only with several servers). */
export interface ServerCensusView {
  server: string;
  old: number | null;
  new: number | null;
  error: string | null;
}

/**
 * Devices per directory server and certificate when the unbind's guard let it go, and its wait
 * there (the unbind step's `guard` record, read back from report.json).
 */
export interface GuardServerView extends ServerCensusView {
  /** How long the guard waited for this server to catch up; null: it never showed it had. */
  waitedMs: number | null;
  allowed: boolean;
}

export interface ReportModel {
  censusBefore: CensusView | null;
  /** Several directory servers: each one's count per certificate, as preflight read it. */
  serverCensus: ServerCensusView[];
  /** The unbind's guard (the last unbind step that took it): each server's counts and wait. */
  guardCensus: GuardServerView[];
  censusAfter: CensusView | null;
  /** True when the directory re-encryption was undone: "after" is then no longer the live state. */
  directoryRestored: boolean;
  appliances: ApplianceView[];
  logons: LogonView[];
  errors: ErrorView[];
  warnings: ErrorView[];
  /** Every target seen in the run (appliances first, in inventory order, then the rest). */
  lanes: string[];
}

const isObj = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: JsonValue | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));
const strList = (v: JsonValue | undefined): string[] | null => (Array.isArray(v) ? v.map((x) => str(x)) : null);

export function censusOf(v: JsonValue | undefined): CensusView | null {
  if (!isObj(v) || typeof v['entries'] !== 'number') return null;
  const legacy = isObj(v['legacy']) ? v['legacy'] : {};
  const enc = isObj(v['encrypted']) ? v['encrypted'] : {};
  const byKid = Array.isArray(v['byKid'])
    ? v['byKid'].filter(isObj).map((k) => ({
        kid: str(k['kid']),
        label: str(k['label']) || 'unknown certificate',
        held: k['held'] === true,
        devices: num(k['devices']),
        entries: num(k['entries']),
      }))
    : [];
  return {
    entries: num(v['entries']),
    withValue: num(v['withValue']),
    empty: num(v['empty']),
    legacyEntries: num(legacy['entries']),
    legacyDevices: num(legacy['devices']),
    encryptedEntries: num(enc['entries']),
    encryptedDevices: num(enc['devices']),
    multiValued: num(v['multiValued']),
    unreadable: num(v['unreadable']),
    byKid,
  };
}

const byKind = (r: RunReport, kind: string): StepReport[] => r.steps.filter((s) => s.kind === kind);

export function buildModel(r: RunReport): ReportModel {
  const preflight = byKind(r, 'preflight')[0];
  const dirBefore = preflight?.targets.find((t) => t.target === 'directory');
  const rekey = byKind(r, 'rekey-directory').at(-1);
  const dirAfter = rekey?.targets.find((t) => t.target === 'directory');
  const censusBefore = censusOf(dirBefore?.changed);
  const censusAfter = censusOf(dirAfter?.changed?.['censusAfter']);
  const perServer = dirBefore?.changed?.['perServer'];
  const num = (v: JsonValue | undefined): number | null => (typeof v === 'number' ? v : null);
  const serverView = (x: JsonObject): ServerCensusView => ({ server: String(x['server'] ?? '?'), old: num(x['old']), new: num(x['new']), error: typeof x['error'] === 'string' ? x['error'] : null });
  const serverCensus: ServerCensusView[] = Array.isArray(perServer) ? perServer.filter(isObj).map(serverView) : [];
  const guard = byKind(r, 'unbind-old-key')
    .map((s) => s.targets.find((t) => t.target === 'directory')?.changed?.['guard'])
    .filter(Array.isArray)
    .at(-1);
  const guardCensus: GuardServerView[] = (guard ?? []).filter(isObj).map((x) => ({ ...serverView(x), waitedMs: num(x['waitedMs']), allowed: x['allowed'] === true }));
  const directoryRestored = !!rekey?.rollback.some((u) => u.target === 'directory' && u.status === 'undone');

  const planApps = isObj(r.plan) && Array.isArray(r.plan['appliances']) ? r.plan['appliances'].filter(isObj) : [];
  const names = [...new Set([...planApps.map((a) => str(a['name'])), ...(preflight?.targets.filter((t) => t.target !== 'directory').map((t) => t.target) ?? [])].filter(Boolean))];

  const appliances = names.map((name): ApplianceView => {
    const planFacts = planApps.find((a) => a['name'] === name)?.['facts'];
    const pre = preflight?.targets.find((t) => t.target === name)?.changed ?? (isObj(planFacts) ? planFacts : undefined);
    const boundBefore = strList(pre?.['bound']);
    const oldCertkey = str(pre?.['oldCertkey']);
    const newBefore = str(pre?.['newCertkey']);
    // The last binding list any bind/unbind step saw on this appliance is its final state,
    // unless a rollback ran afterwards.
    let boundAfter: string[] | null = null;
    let afterSource = 'no binding step changed this appliance';
    for (const s of r.steps) {
      if (s.kind !== 'bind-new-key' && s.kind !== 'unbind-old-key') continue;
      const t = s.targets.find((x) => x.target === name && x.bound !== undefined);
      if (t?.bound) {
        boundAfter = t.bound;
        afterSource = `listed by the appliance after “${s.title}”`;
      }
    }
    if (boundAfter === null && boundBefore !== null) boundAfter = boundBefore;
    const undos = r.steps.filter((s) => s.rollback.some((u) => u.target === name));
    if (undos.length > 0) {
      // Rollback runs in reverse order of start, so the earliest step's undo is the last word.
      // Within one step the later undo entry is the later change.
      let seen: string[] | null = null;
      for (const s of undos) {
        for (const u of s.rollback.filter((x) => x.target === name)) seen = u.bound ?? seen;
        if (seen) break;
      }
      if (seen) {
        boundAfter = seen;
        afterSource = 'listed by the appliance during the rollback';
      } else if (r.status === 'rolled-back') {
        boundAfter = boundBefore;
        afterSource = 'restored by the rollback';
      }
    }
    const imp = byKind(r, 'import-certkey')
      .flatMap((s) => s.targets)
      .find((t) => t.target === name);
    const newName = str(imp?.changed?.['certkey']) || newBefore || str(isObj(planFacts) ? planFacts['newCertkey'] : undefined);
    const newUndone = byKind(r, 'import-certkey').some((s) => s.rollback.some((u) => u.target === name && u.status === 'undone' && u.certkeyDeleted !== undefined));
    const certkeys: CertkeyRow[] = [];
    if (oldCertkey) {
      certkeys.push({ name: oldCertkey, role: 'old', before: true, after: true, boundBefore: boundBefore?.includes(oldCertkey) ?? null, boundAfter: boundAfter?.includes(oldCertkey) ?? null });
    }
    if (newName) {
      const after = newUndone ? false : imp ? imp.status !== 'failed' : !!newBefore;
      certkeys.push({ name: newName, role: 'new', before: !!newBefore, after, boundBefore: boundBefore?.includes(newName) ?? null, boundAfter: boundAfter?.includes(newName) ?? null });
    }
    return {
      name,
      mode: str(pre?.['mode']) || 'unknown',
      primary: str(pre?.['primary']),
      otpEncryption: str(pre?.['otpEncryption']) || 'unknown',
      firmwareVersion: str(pre?.['firmwareVersion']) || 'not reported',
      boundBefore,
      boundAfter,
      afterSource,
      certkeys,
    };
  });

  // A check that never ran is a fact too: the record must not read as if it passed.
  const logons = byKind(r, 'logon-check').flatMap((s) =>
    s.status === 'not-run'
      ? [{ stepId: s.id, stepTitle: s.title, target: 'all appliances', status: 'not-run', message: 'not run: the run stopped before this check' }]
      : s.targets.map((t) => ({ stepId: s.id, stepTitle: s.title, target: t.target, status: t.status, message: t.message })),
  );

  const errors: ErrorView[] = [];
  for (const s of r.steps) {
    for (const t of s.targets.filter((x) => x.status === 'failed')) errors.push({ where: `${s.title} — ${t.target}`, message: t.message, ...(t.codes ? { codes: t.codes } : {}) });
    if (s.error && !s.targets.some((t) => t.status === 'failed' && s.error!.includes(t.message))) errors.push({ where: s.title, message: s.error, ...(s.errorCodes ? { codes: s.errorCodes } : {}) });
    for (const u of s.rollback.filter((x) => x.status === 'failed')) errors.push({ where: `rollback of ${s.title} — ${u.target}`, message: u.message, ...(u.codes ? { codes: u.codes } : {}) });
  }
  const warnings = r.steps.flatMap((s) => s.notes.filter((n) => n.level !== 'info').map((n) => ({ where: `${s.title} — ${n.target}`, message: n.message })));

  const seen = new Set(names);
  const lanes = [...names];
  for (const s of r.steps)
    for (const t of [...s.targets.map((x) => x.target), ...s.rollback.map((x) => x.target)]) {
      if (!seen.has(t)) {
        seen.add(t);
        lanes.push(t);
      }
    }
  return { censusBefore, serverCensus, guardCensus, censusAfter, directoryRestored, appliances, logons, errors, warnings, lanes };
}
