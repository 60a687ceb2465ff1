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
import type { ChangeRecord, RollbackResult, Step, StepContext, TargetResult } from '../../src/runner/step.js';
import { intend, typedChange } from '../../src/steps/records.js';

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
