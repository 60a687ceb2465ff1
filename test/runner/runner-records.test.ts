// The runner between a step and its journal, with a step made of plain functions: what it writes
// (the format, the facts of targets and undos), what a rollback is handed back, and how it tells
// an interruption from a failure. No appliance, no directory: milliseconds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reporter } from '../../src/runner/events.js';
import { readJournal } from '../../src/runner/journal.js';
import { buildReport } from '../../src/report/run-report.js';
import { Runner } from '../../src/runner/runner.js';
import type { ChangeRecord, RollbackResult, SafetyCheck, Step, StepContext, TargetResult } from '../../src/runner/step.js';
import { intend, typedChange } from '../../src/steps/records.js';
import type { CensusResult } from '../../src/directory/index.js';
import { keyMaterialFromPem } from '../../src/otp/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import type { Estate } from '../../src/steps/estate.js';
import { judge, type BoundKeys } from '../../src/steps/invariant.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const quiet: Reporter = { event: () => undefined, close: async () => undefined };

function meta() {
  const runDir = mkdtempSync(join(tmpdir(), 'adc-run-'));
  dirs.push(runDir);
  return { runId: '20261123T094300Z-abcdef', runDir, playbook: '/p.yaml', inventory: '/i.yaml', params: {}, planHash: '0123456789abcdef', dryRun: false };
}

/**
 * A bind step on two appliances: adc1 binds, adc2 fails with `failure` (after `stop` fires, when
 * given: Ctrl-C during the write); its undo reads back the bindings.
 */
function bindStep(failure: Error, seen: ChangeRecord[][], stop?: AbortController): Step {
  return {
    id: 'bind-new-key',
    kind: 'bind-new-key',
    title: 'Bind the new key',
    targets: () => ['adc1', 'adc2'],
    plan: async () => ({ changes: [], warnings: [] }),
    apply: async (ctx: StepContext): Promise<TargetResult[]> => {
      const c = await intend(ctx, 'adc1', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old'], restoreWith: null });
      await c.done({ applied: true, capability: 'multi', evidence: 'both listed' });
      await intend(ctx, 'adc2', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old'], restoreWith: null });
      stop?.abort();
      throw failure;
    },
    verify: async () => undefined,
    rollback: async (_ctx, records): Promise<RollbackResult[]> => {
      seen.push(records);
      return records.map((r) => {
        const c = typedChange(r);
        return c.action === 'bind' && c.done?.applied
          ? { id: r.id, target: r.target, status: 'undone', message: `${c.data.certkey} unbound (bound now: otp-old)`, bound: ['otp-old'] }
          : { id: r.id, target: r.target, status: 'not-needed', message: 'never bound' };
      });
    },
  };
}

describe('Runner', () => {
  it('writes format 2, hands the rollback its records newest first, and journals the undo facts in fields', async () => {
    const m = meta();
    const seen: ChangeRecord[][] = [];
    const outcome = await new Runner(m, [bindStep(new Error('adc2: PUT failed'), seen)], quiet, new AbortController().signal).run();
    expect(outcome).toMatchObject({ status: 'rolled-back', exitCode: 1 });
    expect(seen[0].map((r) => [r.id, r.target, r.done])).toEqual([
      [2, 'adc2', undefined],
      [1, 'adc1', { applied: true, capability: 'multi', evidence: 'both listed' }],
    ]);
    const journal = readJournal(join(m.runDir, 'events.jsonl'));
    expect(journal.find((r) => r.type === 'run')).toMatchObject({ format: 2 });
    expect(journal.find((r) => r.type === 'rollback-start')).toMatchObject({ format: 2 });
    const report = buildReport(journal);
    expect(report.steps[0].rollback.map((u) => [u.target, u.status, u.bound])).toEqual([
      ['adc2', 'not-needed', undefined],
      ['adc1', 'undone', ['otp-old']],
    ]);
  });

  it('an abort is told by its name or code once the signal fired; words saying "aborted" are a failure like any other', async () => {
    const run = (failure: Error, stop: AbortController) => new Runner(meta(), [bindStep(failure, [], stop)], quiet, stop.signal).run();
    const named = () => Object.assign(new Error('the operation was stopped'), { name: 'AbortError' });
    expect(await run(named(), new AbortController())).toMatchObject({ status: 'interrupted', exitCode: 130 });
    expect(await run(Object.assign(new Error('the request was aborted'), { code: 'ABORT_ERR' }), new AbortController())).toMatchObject({ status: 'interrupted', exitCode: 130 });
    expect(await run(new Error('upload aborted by the appliance'), new AbortController())).toMatchObject({ status: 'rolled-back' });
    // An AbortError with no signal fired is not the operator's Ctrl-C: it fails the step.
    expect(await new Runner(meta(), [bindStep(named(), [])], quiet, new AbortController().signal).run()).toMatchObject({ status: 'rolled-back' });
  });
});

/** A step that binds the new key on adc1 and succeeds (its undo says it unbound it again). */
function okBindStep(): Step {
  return {
    ...bindStep(new Error('unused'), []),
    targets: () => ['adc1'],
    apply: async (ctx: StepContext): Promise<TargetResult[]> => {
      const c = await intend(ctx, 'adc1', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old'], restoreWith: null });
      await c.done({ applied: true, capability: 'multi', evidence: 'both listed' });
      return [{ target: 'adc1', status: 'ok', message: 'otp-new bound' }];
    },
  };
}

describe('Runner: a breach of the no-lockout invariant at the end', () => {
  // The verdict comes from the product's own judge (src/steps/invariant.ts) over bindings and a
  // census given here: adc2 holds only the old key while two users have devices under the new
  // certificate. Only the certificates of the estate are read by the judge.
  const certs = (() => {
    const km = (cn: string) => {
      const pem = selfSignedCert({ cn });
      return { km: keyMaterialFromPem(pem.certPem, pem.keyPem) };
    };
    return { old: km('OTP encryption 2024'), new: km('OTP encryption 2026') };
  })();
  const estate = { certs } as unknown as Estate;
  const stranded = ['cn=User 00004,ou=Users,dc=lab,dc=example', 'cn=User 00017,ou=Users,dc=lab,dc=example'];
  const census: CensusResult = {
    base: 'dc=lab,dc=example',
    filter: '(objectClass=user)',
    attribute: 'userParameters',
    entries: 40,
    withValue: 30,
    empty: 10,
    multiValued: { entries: 0, examples: [] },
    legacy: { entries: 0, devices: 0 },
    encrypted: { entries: 30, devices: 33 },
    byKid: [
      { kid: certs.old.km.kidText, held: true, devices: 31, entries: 28 },
      { kid: certs.new.km.kidText, held: true, devices: 2, entries: 2, examples: stranded },
    ],
    unreadable: { entries: 0, examples: [], devices: 0 },
    extraAttributes: [],
    durationMs: 1,
  };
  const bound = (appliance: string, holds: ('old' | 'new')[]): BoundKeys => ({
    appliance,
    certkeys: holds.map((w) => `otp-${w}`),
    holds: new Set(holds),
    others: [],
    byCertkey: new Map(holds.map((w) => [`otp-${w}`, w])),
  });
  const breach: SafetyCheck = async () => {
    const v = judge(estate, [bound('adc1', ['old', 'new']), bound('adc2', ['old'])], census, new Set());
    return { holds: v.holds, leftOutOnly: false, message: v.message };
  };
  const phases: string[] = [];
  const watched: SafetyCheck = async (ctx, phase) => {
    phases.push(phase);
    return breach(ctx, phase);
  };

  function expectNamesUsersAndKey(message: string | undefined): void {
    expect(message).toContain('users cannot log on');
    expect(message).toContain('adc2');
    expect(message).toContain(`KID ${certs.new.km.kidText}`);
    for (const dn of stranded) expect(message).toContain(dn);
  }

  it('every step finished: not "succeeded" but locked-out, exit 3, naming the users and the key; the verdict is journaled', async () => {
    const m = meta();
    phases.length = 0;
    const outcome = await new Runner(m, [okBindStep()], quiet, new AbortController().signal, watched).run();
    expect(outcome).toMatchObject({ status: 'locked-out', exitCode: 3 });
    expect(outcome.message).toMatch(/^every step finished, but users cannot log on/);
    expectNamesUsersAndKey(outcome.message);
    expect(phases).toEqual(['run']);
    const journal = readJournal(join(m.runDir, 'events.jsonl'));
    expect(journal.find((r) => r.type === 'invariant')).toMatchObject({ phase: 'run', holds: false });
    expect(journal.at(-1)).toMatchObject({ type: 'run-end', status: 'locked-out', exitCode: 3 });
  });

  it('a failed run whose rollback completed: not "rolled back" (exit 1) but rollback-incomplete, exit 3', async () => {
    const m = meta();
    phases.length = 0;
    const outcome = await new Runner(m, [bindStep(new Error('adc2: PUT failed'), [])], quiet, new AbortController().signal, watched).run();
    expect(outcome).toMatchObject({ status: 'rollback-incomplete', exitCode: 3 });
    expect(outcome.message).toMatch(/^the rollback ran, but users cannot log on/);
    expectNamesUsersAndKey(outcome.message);
    expect(phases).toEqual(['rollback']);
    expect(readJournal(join(m.runDir, 'events.jsonl')).at(-1)).toMatchObject({ type: 'run-end', status: 'rollback-incomplete', exitCode: 3 });
  });

  it('`rollback` of a finished run that completed every undo: not exit 0 but rollback-incomplete, exit 3', async () => {
    const m = meta();
    expect(await new Runner(m, [okBindStep()], quiet, new AbortController().signal).run()).toMatchObject({ status: 'succeeded', exitCode: 0 });
    phases.length = 0;
    const outcome = await new Runner(m, [okBindStep()], quiet, new AbortController().signal, watched).rollbackAll('asked for');
    expect(outcome).toMatchObject({ status: 'rollback-incomplete', exitCode: 3 });
    expectNamesUsersAndKey(outcome.message);
    expect(phases).toEqual(['rollback']);
    // The undo itself completed: it is the invariant alone that turned the outcome.
    const journal = readJournal(join(m.runDir, 'events.jsonl'));
    expect(journal.filter((r) => r.type === 'rollback-end').at(-1)).toMatchObject({ status: 'complete' });
  });

  it('the same runs with the invariant holding keep their own outcomes (the breach, not the check, makes the 3)', async () => {
    const holds: SafetyCheck = async () => {
      const v = judge(estate, [bound('adc1', ['old', 'new']), bound('adc2', ['old', 'new'])], census, new Set());
      expect(v.holds).toBe(true);
      return { holds: v.holds, leftOutOnly: false, message: v.message };
    };
    expect(await new Runner(meta(), [okBindStep()], quiet, new AbortController().signal, holds).run()).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(await new Runner(meta(), [bindStep(new Error('adc2: PUT failed'), [])], quiet, new AbortController().signal, holds).run()).toMatchObject({
      status: 'rolled-back',
      exitCode: 1,
    });
  });

  it('a check that cannot be made (it throws) is not proof: exit 3', async () => {
    const broken: SafetyCheck = async () => {
      throw new Error('directory unavailable');
    };
    const outcome = await new Runner(meta(), [okBindStep()], quiet, new AbortController().signal, broken).run();
    expect(outcome).toMatchObject({ status: 'locked-out', exitCode: 3 });
    expect(outcome.message).toContain('the check that every user can still log on failed: directory unavailable');
  });
});
