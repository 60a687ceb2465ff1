// A fault injected at each write step in turn: the run exits 1 and leaves the appliances and the
// directory exactly as they were — certkeys, files, bindings, and every attribute byte for byte.
// One lab serves every case: each rolled-back run must leave it fit for the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';

let lab: E2eLab;
let before: Snapshot;

beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 2 });
  before = await lab.snapshot();
});
afterAll(async () => lab?.stop());

// `skip: 1` lets the run's lock file through (the first POST systemfile on an appliance, see
// src/cutover/estate-lock.ts): the fault is for the certificate upload after it.
const cases: { step: string; on: string; errorcode: number; sets?: string[]; skip?: number }[] = [
  { step: 'import-certkey', on: 'POST systemfile', errorcode: 278, skip: 1 },
  { step: 'import-certkey', on: 'POST sslcertkey', errorcode: 1536 },
  { step: 'bind-new-key', on: 'PUT vpnglobal_sslcertkey_binding', errorcode: 278, sets: ['mode=overlap'] },
  { step: 'unbind-old-key', on: 'DELETE vpnglobal_sslcertkey_binding', errorcode: 278 },
  { step: 'save-config', on: 'POST nsconfig?action=save', errorcode: 278 },
];

describe('a fault at each step rolls everything back', () => {
  it.each(cases)(
    '$on → $errorcode fails $step, exit 1, nothing left changed',
    async ({ step, on, errorcode, sets, skip }) => {
      // The last appliance fails, so the first has already changed and must be undone too.
      await lab.fault('adc2', { on, errorcode, times: 1, ...(skip ? { skip } : {}) });
      const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', ...(sets ?? []).flatMap((s) => ['--set', s])], { timeoutMs: 120_000 });
      await lab.clearFaults();
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const failed = events.find((e) => e['type'] === 'step-end' && e['status'] === 'failed');
      expect(failed?.['step'], r.stderr).toBe(step);
      expect(String(failed?.['error'])).toContain(`errorcode ${errorcode}`);
      expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'rolled-back', exitCode: 1 });
      expect(r.code).toBe(1);
      expect(events.filter((e) => e['type'] === 'undo' && e['status'] === 'failed')).toEqual([]);
      expect(await lab.snapshot()).toEqual(before);
    },
    120_000,
  );
});
