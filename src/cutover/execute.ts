// Plan, run, resume and roll back a playbook against an inventory: the glue between the CLI,
// the runner and the steps. Planning reads live state only; running re-plans right before the
// first write and refuses when the estate drifted from what the operator approved.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { AdcError, EXIT, InputError } from '../errors.js';
import type { Reporter } from '../runner/events.js';
import { readJournal, type Stamped } from '../runner/journal.js';
import type { JsonObject } from '../runner/json.js';
import { acquireLocalLock, holderOf, type RunLock } from '../runner/lock.js';
import { buildReport, type RunReport } from '../report/run-report.js';
import { assertRunDirWritable, createRunDir, discardRunDir, findRunDir, journalPath, newRunId, reportPath } from '../runner/run-dir.js';
import { Runner, type RunOutcome } from '../runner/runner.js';
import type { SafetyCheck, Step, StepContext, StepPlan } from '../runner/step.js';
import { safetyCheck } from '../steps/safety-check.js';
import { openEstate, type Estate } from '../steps/estate.js';
import { directoryPlan, type DirectoryPlan } from '../steps/ldap-actions.js';
import { newFacts, type RunFacts } from '../steps/facts.js';
import { applianceFactsJson } from '../steps/facts-json.js';
import { buildSteps } from './build-steps.js';
import { estateId, lockAppliances, type ApplianceLocks } from './estate-lock.js';
import { changedInputs, CERTIFICATE_INPUTS, hashInputs, recordedInputs, type InputHashes } from './input-hashes.js';
import { loadInventory, type Inventory } from '../playbook/inventory.js';
import { canaryPoolWords, logonProofWarning, NO_LOGON_CHECK_PARAM, requireLogonProof } from './logon-proof.js';
import { loadPlaybook } from '../playbook/playbook.js';
import { writeReportFiles } from '../report/files.js';

export interface PlanDoc {
  playbook: string;
  inventory: string;
  mode: string;
  dryRun: boolean;
  /** Per appliance: HA role, current key, firmware behaviour (once known) and what will change. */
  appliances: { name: string; facts: JsonObject; warnings: string[]; changes: string[] }[];
  steps: { id: string; title: string; changes: { target: string; description: string }[]; warnings: string[] }[];
  /** The failure budget in plain words: what happens to the fleet when an appliance fails. */
  failureBudget: string;
  /** How the fleet moves: phases, barriers, and the order a mixed fleet takes, with the reason. */
  fleet: string[];
  /** The canary pool: how many logon checks it covers in one TOTP step without waiting. */
  canaries?: string;
  warnings: string[];
  hash: string;
  /** Directory servers, the appliances' LDAP actions and the replication guard (docs/directory.md). */
  directory?: DirectoryPlan;
}

export interface ExecuteOptions {
  playbook: string;
  inventory: string;
  sets?: string[];
  dryRun?: boolean;
  reporter: Reporter;
  signal: AbortSignal;
  /** Asked with the plan before the first write; false refuses (exit 2). */
  confirm?: (plan: PlanDoc) => Promise<boolean>;
  /** Refuse unless the live plan has this hash (a plan reviewed earlier). */
  expectPlan?: string;
  junit?: string;
  /** Called once the plan is known (printing it is the caller's business). */
  onPlan?: (plan: PlanDoc) => void;
  /** The operator goes on without a canary: bindings change with no logon proven (logon-proof.ts). */
  noLogonCheck?: boolean;
  /** Remove another run's lock on the appliances (the operator knows it is gone). */
  breakLock?: boolean;
}

export type JournalOptions = Pick<ExecuteOptions, 'reporter' | 'signal' | 'junit' | 'breakLock'>;

export interface ExecuteResult extends RunOutcome {
  runId: string;
  runDir: string;
  report: RunReport;
  /** What could not be cleaned up after the run (a lock left on an appliance), in words. */
  warnings: string[];
}

interface Loaded {
  estate: Estate;
  /** The no-lockout check, before every report of a run that may have changed something. */
  safety: SafetyCheck;
  steps: Step[];
  facts: RunFacts;
  params: JsonObject;
  playbookFile: string;
  inventoryFile: string;
  inventory: Inventory;
}

async function load(playbook: string, inventory: string, sets: string[], dryRun: boolean): Promise<Loaded> {
  const pb = await loadPlaybook(playbook, sets);
  const inv = await loadInventory(inventory);
  const estate = await openEstate(inv, { dryRun });
  const facts = newFacts();
  const steps = buildSteps(pb.steps, estate, pb.params, facts);
  const safety: SafetyCheck = (ctx) => safetyCheck({ estate, params: pb.params, facts, with: {} }, ctx);
  return { estate, safety, steps, facts, params: pb.params as unknown as JsonObject, playbookFile: resolve(playbook), inventoryFile: inv.file, inventory: inv };
}

interface Locks {
  notes: { target: string; message: string }[];
  release(): Promise<string[]>;
}

/** The host's lock, then every appliance's: both refuse with exit 2 while another run holds them. */
async function lockEstate(l: Loaded, runId: string, opts: { breakLock: boolean; strict: boolean; held?: RunLock }): Promise<Locks> {
  const estate = estateId(l.inventory);
  const local: RunLock = opts.held ?? acquireLocalLock(estate, runId);
  let remote: ApplianceLocks;
  try {
    remote = await lockAppliances(l.estate.appliances, holderOf(runId), estate, { runId, breakLock: opts.breakLock, strict: opts.strict });
  } catch (err) {
    local.release();
    throw err;
  }
  return {
    notes: remote.notes,
    release: async () => {
      const problems = await remote.release();
      local.release();
      return problems;
    },
  };
}

/** Read-only: what the playbook would change, from live state, with a hash of what it rests on. */
export async function planPlaybook(playbook: string, inventory: string, sets: string[] = [], dryRun = true, noLogonCheck = false): Promise<PlanDoc> {
  const l = await load(playbook, inventory, sets, true);
  try {
    return await computePlan(l, dryRun, noLogonCheck);
  } finally {
    await l.estate.close();
  }
}

export function budgetWords(budget: number, appliances: number): string {
  if (budget === 0) {
    return 'failure budget 0 (the default): if any appliance fails at any step, the run stops and rolls back every appliance and the directory to where they are now';
  }
  const most = Math.min(budget, appliances - 1);
  return (
    `failure budget ${budget} (maxFailedAppliances): up to ${most} appliance(s) may fail; each is left out of the rest of the run and stays where it failed. ` +
    'One that fails before the re-encryption stays on the old key only: users moved to the new certificate cannot log on through it until it is fixed and the cutover run again. ' +
    'The others go on; the last step lists which appliance is on which key. One failure more, a directory failure, or a failure of every appliance rolls back everything'
  );
}

function fleetWords(mode: string, parallel: number, steps: Step[]): string[] {
  const kinds = steps.map((s) => s.kind);
  const lines = [
    `phases with barriers: each step finishes on every appliance before the next starts (up to ${parallel} appliance(s) at once within a step): the new certkey everywhere before any binding changes, the new key bound everywhere it can be before the directory is re-encrypted, the old key unbound only after a census and the logon checks`,
    'an HA pair is one target: writes go to its primary (found again before each write phase, so a failover between phases is followed), and the secondary is read back: files after the sync, bindings after each change',
  ];
  if (kinds.includes('bind-new-key')) {
    if (mode === 'auto') {
      lines.push(
        'mode auto: the overlap bind is also the firmware probe on each appliance; where a second binding is accepted the new key is bound next to the old one (no outage there), where the firmware shows it holds one key that appliance is swapped right after the re-encryption. ' +
          'It shows it only by refusing with errorcode 278 naming the key bound now (an inference: no public source states the code), or by replacing that key with the new one (put back at once); ' +
          'any other refusal fails the step and the run rolls back (if that firmware does hold one key, run with mode: swap). ' +
          'A mixed fleet keeps overlap where it can: keeping the new key off those appliances too would not shorten the swap window of the others (it starts when the re-encryption starts) and would add the same outage where none is needed',
      );
    } else if (mode === 'overlap') {
      lines.push('mode overlap: every appliance must hold both keys; one whose firmware refuses a second binding stops the run, and everything is rolled back');
    } else {
      lines.push('mode swap: no appliance holds both keys; from the re-encryption until its swap, users already moved cannot log on through an appliance');
    }
  }
  return lines;
}

async function computePlan(l: Loaded, dryRun: boolean, noLogonCheck = false): Promise<PlanDoc> {
  const ctx = readOnlyContext();
  const steps: PlanDoc['steps'] = [];
  const plans: StepPlan[] = [];
  const hashed: unknown[] = [];
  for (const s of l.steps) {
    const p: StepPlan = await s.plan(ctx);
    plans.push(p);
    steps.push({ id: s.id, title: s.title, changes: p.changes.map((c) => ({ target: c.target, description: c.description })), warnings: p.warnings });
    // Where a step gives facts, they stand for the change: its description is prose for the
    // operator and may carry counts that move on their own (the directory step's device counts
    // change with every enrolment, which made a run refuse as "drifted" on a live estate).
    hashed.push({ id: s.id, changes: p.changes.map((c) => (c.facts ? { target: c.target, facts: c.facts } : { target: c.target, description: c.description })) });
  }
  // Appliance facts (bindings, certkeys, HA primary) are what a drift check must catch; directory
  // counts move as users enrol, so the hash covers which KIDs exist, not how many devices.
  const facts = l.facts;
  const appliances = l.estate.appliances.map((a) => ({
    name: a.name,
    facts: facts.appliances.get(a.name) ? applianceFactsJson(a, facts.appliances.get(a.name)!) : {},
    warnings: a.warnings,
    changes: plans.flatMap((p, i) => p.changes.filter((c) => c.target === a.name && !c.noChange).map((c) => `${i + 1}. ${c.summary ?? c.description}`)),
  }));
  hashed.push(
    appliances.map((a) => ({
      name: a.name,
      bound: a.facts['bound'] ?? null,
      oldCertkey: a.facts['oldCertkey'] ?? null,
      newCertkey: a.facts['newCertkey'] ?? null,
      primary: a.facts['primary'] ?? null,
    })),
  );
  const hash = createHash('sha256').update(JSON.stringify(hashed)).digest('hex').slice(0, 16);
  return {
    playbook: l.playbookFile,
    inventory: l.inventoryFile,
    mode: String(l.params['mode'] ?? 'auto'),
    dryRun,
    appliances,
    steps,
    failureBudget: budgetWords(Number(l.params['maxFailedAppliances'] ?? 0), l.estate.appliances.length),
    fleet: fleetWords(String(l.params['mode'] ?? 'auto'), Number(l.params['parallel'] ?? 4), l.steps),
    ...(canaryPoolWords(l.steps, l.estate) ? { canaries: canaryPoolWords(l.steps, l.estate) } : {}),
    warnings: [...new Set([logonProofWarning(l.steps, l.estate, noLogonCheck) ?? [], ...appliances.flatMap((a) => a.warnings), ...steps.flatMap((s) => s.warnings)].flat())],
    hash,
    directory: await directoryPlan(l.estate, l.params, l.facts.census),
  };
}

export async function runPlaybook(opts: ExecuteOptions): Promise<ExecuteResult> {
  const dryRun = opts.dryRun ?? false;
  const l = await load(opts.playbook, opts.inventory, opts.sets ?? [], dryRun);
  const runId = newRunId();
  const noLogonCheck = opts.noLogonCheck ?? false;
  let local: RunLock | undefined;
  let locks: Locks | undefined;
  let runDir: string | undefined;
  let started = false;
  const warnings: string[] = [];
  try {
    if (!dryRun) requireLogonProof(l.steps, l.estate, noLogonCheck);
    // Before the locks and any write: a state home that cannot be written is refused here.
    runDir = createRunDir(runId);
    // A dry run changes nothing, so it takes no lock; it reads and plans alongside a live run.
    if (!dryRun) local = acquireLocalLock(estateId(l.inventory), runId);
    const inputs = hashInputs(l.playbookFile, l.inventory);
    const plan = await computePlan(l, dryRun, noLogonCheck);
    opts.onPlan?.(plan);
    if (opts.expectPlan && opts.expectPlan !== plan.hash) {
      throw new InputError(`the live plan (${plan.hash}) is not the one you reviewed (${opts.expectPlan}): the estate changed; review 'adc-cutover plan' again`);
    }
    if (!dryRun && opts.confirm && !(await opts.confirm(plan))) throw new InputError('not confirmed: nothing was changed');
    if (!dryRun) {
      // Time may have passed at the prompt: the estate must still be what the plan showed.
      const again = await computePlan(await reload(l), dryRun, noLogonCheck);
      if (again.hash !== plan.hash) {
        throw new InputError(`live state drifted since the plan (${plan.hash} → ${again.hash}): nothing was changed; review the plan again`);
      }
    }
    if (!dryRun) {
      // The appliances' locks, last before the first change; the host's lock joins them, so
      // that one release frees both. Refused, the run never started: its directory goes (finally).
      locks = await lockEstate(l, runId, { breakLock: opts.breakLock ?? false, strict: true, ...(local ? { held: local } : {}) });
      local = undefined;
    }
    const params = noLogonCheck ? { ...l.params, [NO_LOGON_CHECK_PARAM]: true } : l.params;
    const runner = new Runner(
      {
        runId,
        runDir,
        playbook: l.playbookFile,
        inventory: l.inventoryFile,
        params,
        planHash: plan.hash,
        dryRun,
        plan: plan as unknown as JsonObject,
        inputs: inputs as unknown as JsonObject,
        notes: locks?.notes ?? [],
      },
      l.steps,
      opts.reporter,
      opts.signal,
      l.safety,
    );
    started = true;
    const outcome = await runner.run();
    warnings.push(...((await locks?.release()) ?? []));
    locks = undefined;
    return finish(runId, runDir, l.steps, outcome, opts.junit, warnings);
  } finally {
    if (runDir && !started) discardRunDir(runDir);
    local?.release();
    await locks?.release();
    await l.estate.close();
  }
}

/** Continue an interrupted run from its journal; finished steps are not repeated. */
export async function resumeRun(runId: string, opts: JournalOptions): Promise<ExecuteResult> {
  return fromJournal(runId, 'resume', opts, async (l, runDir, first, inputs, notes) => {
    requireLogonProof(l.steps, l.estate, first.params[NO_LOGON_CHECK_PARAM] === true);
    // A run decision, not a live fact: appliances the failure budget left out stay left out.
    for (const r of readJournal(journalPath(runDir))) {
      if (r.type === 'target' && r.leftOut) l.facts.excluded.add(r.target);
    }
    const runner = new Runner({ ...metaOf(first, runDir), inputs: inputs as unknown as JsonObject, notes }, l.steps, opts.reporter, opts.signal, l.safety);
    return runner.run();
  });
}

/** Undo everything a run changed, from its journal. */
export async function rollbackRun(runId: string, opts: JournalOptions): Promise<ExecuteResult> {
  return fromJournal(runId, 'rollback', opts, async (l, runDir, first, _inputs, notes) => {
    const runner = new Runner({ ...metaOf(first, runDir), notes }, l.steps, opts.reporter, opts.signal, l.safety);
    return runner.rollbackAll(`rollback of run ${runId} asked for`);
  });
}

type RunRecord = Extract<Stamped, { type: 'run' }>;

/**
 * Whether `resume` may go on with a run: only one that was interrupted before any rollback of it
 * started. Once a rollback has started, going forward would redo what it undid — on an estate
 * the rollback left half undone — so only `rollback` may continue it.
 */
function refuseResume(runId: string, records: Stamped[]): void {
  const starts = records.filter((r): r is Extract<Stamped, { type: 'rollback-start' }> => r.type === 'rollback-start');
  const last = starts.at(-1);
  if (last) {
    const end = records.find((r): r is Extract<Stamped, { type: 'rollback-end' }> => r.type === 'rollback-end' && r.seq > last.seq);
    const state = !end
      ? `a rollback of it started at ${last.t} (${last.reason}) and did not finish: 'adc-cutover rollback ${runId}' finishes it`
      : end.status === 'incomplete'
        ? `its rollback (${last.t}) ended incomplete: 'adc-cutover rollback ${runId}' tries the rest again`
        : `it was rolled back (${last.t}): start a new run to cut over`;
    throw new InputError(`run ${runId}: ${state}. Once a rollback has started, resume would redo what it undid, so it is refused; nothing was changed`);
  }
  const end = lastEnd(records);
  if (end && end !== 'interrupted') throw new InputError(`run ${runId} ended "${end}": only an interrupted run can be resumed (use 'adc-cutover rollback ${runId}' to undo it)`);
}

/**
 * The run's inputs against what it started with. A resume needs every file unchanged; a rollback
 * needs the certificates unchanged (their key material decides what the directory is restored
 * under) and only notes an edited playbook or inventory. A journal from before the hashes were
 * kept cannot be checked: that is said, not refused.
 */
function checkInputs(runId: string, mode: 'resume' | 'rollback', records: Stamped[], now: InputHashes): { notes: { target: string; message: string }[] } {
  const then = records
    .filter((r): r is RunRecord => r.type === 'run')
    .map((r) => recordedInputs(r.inputs))
    .find((h) => h !== undefined);
  if (!then) {
    return {
      notes: [
        {
          target: runId,
          message: `run ${runId} was started by a version that did not record its input files' hashes: cannot check that the playbook, inventory and certificates are the ones it started with`,
        },
      ],
    };
  }
  const changed = changedInputs(runId, then, now, mode === 'resume' ? () => true : (label) => CERTIFICATE_INPUTS.test(label));
  if (changed.length) {
    const why =
      mode === 'resume'
        ? `resume goes on only with the files the run started with (put them back, or 'adc-cutover rollback ${runId}')`
        : 'a rollback with other key material would restore the directory under the wrong key (put the certificate files back)';
    throw new InputError(`${changed.join('; ')}: ${why}. Nothing was changed`);
  }
  const edited = mode === 'rollback' ? changedInputs(runId, then, now, (label) => !CERTIFICATE_INPUTS.test(label)) : [];
  return { notes: edited.map((message) => ({ target: runId, message: `${message} (the rollback goes on: it undoes what the journal recorded)` })) };
}

async function fromJournal(
  runId: string,
  mode: 'resume' | 'rollback',
  opts: JournalOptions,
  go: (l: Loaded, runDir: string, first: RunRecord, inputs: InputHashes, notes: { target: string; message: string }[]) => Promise<RunOutcome>,
): Promise<ExecuteResult> {
  const runDir = findRunDir(runId);
  const records = readJournal(journalPath(runDir));
  const first = records.find((r): r is RunRecord => r.type === 'run');
  if (!first) throw new InputError(`${journalPath(runDir)}: no run record: the journal is empty or damaged`);
  if (first.dryRun) throw new InputError(`run ${runId} was a dry run: it changed nothing`);
  if (mode === 'resume') refuseResume(runId, records);
  assertRunDirWritable(runDir);
  const inputs = hashInputs(first.playbook, await loadInventory(first.inventory));
  const checked = checkInputs(runId, mode, records, inputs);
  const sets = Object.entries(first.params)
    .filter(([k]) => k !== NO_LOGON_CHECK_PARAM)
    .map(([k, v]) => `${k}=${String(v)}`)
    .filter((s) => !s.endsWith('=undefined'));
  const l = await load(first.playbook, first.inventory, sets, false);
  let locks: Locks | undefined;
  try {
    locks = await lockEstate(l, runId, { breakLock: opts.breakLock ?? false, strict: mode === 'resume' });
    const outcome = await go(l, runDir, first, inputs, [...checked.notes, ...locks.notes]);
    const warnings = await locks.release();
    locks = undefined;
    return finish(runId, runDir, l.steps, outcome, opts.junit, warnings);
  } finally {
    await locks?.release();
    await l.estate.close();
  }
}

function metaOf(first: Extract<Stamped, { type: 'run' }>, runDir: string) {
  return { runId: first.runId, runDir, playbook: first.playbook, inventory: first.inventory, params: first.params, planHash: first.planHash, dryRun: false };
}

async function reload(l: Loaded): Promise<Loaded> {
  // Same estate and steps; the plan's reads repeat against live state.
  return l;
}

function lastEnd(records: Stamped[]): string | undefined {
  const r = [...records].reverse().find((x) => x.type === 'run-end' || x.type === 'run');
  return r?.type === 'run-end' ? r.status : undefined;
}

function finish(runId: string, runDir: string, steps: Step[], outcome: RunOutcome, junit: string | undefined, warnings: string[]): ExecuteResult {
  const report = buildReport(
    readJournal(journalPath(runDir)),
    steps.map((s) => ({ id: s.id, kind: s.kind, title: s.title })),
  );
  // After the run's end was journaled: a report file that cannot be written is a warning, never the outcome.
  const warning = writeReportFiles({ json: reportPath(runDir), html: join(runDir, 'report.html'), ...(junit ? { junit } : {}) }, report, journalPath(runDir));
  return { ...outcome, runId, runDir, report, warnings: warning ? [...warnings, warning] : warnings };
}

function readOnlyContext(): StepContext {
  const refuse = async (): Promise<never> => {
    throw new AdcError('internal: a step tried to write while planning', EXIT.invalidInput);
  };
  return {
    runId: 'plan',
    runDir: '',
    dryRun: true,
    signal: new AbortController().signal,
    journal: { intent: refuse, done: refuse, outcomeUnknown: refuse, writeSent: refuse, records: () => [] },
    progress: () => undefined,
    note: () => undefined,
  };
}
