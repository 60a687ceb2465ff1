// Journal format versions: this version writes format 2; a journal written before formats were
// numbered (format 1) still reads, with the facts it kept only in messages lifted into fields;
// a format this version does not know is refused, naming it.
import { afterEach, describe, expect, it } from 'vitest';
import { readJournal, type Stamped } from '../../src/runner/journal.js';
import { JOURNAL_FORMAT } from '../../src/runner/journal-format.js';
import { buildReport } from '../../src/report/run-report.js';
import { journalFile, runRecord } from './journal-lines.js';

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function read(records: Record<string, unknown>[]): Stamped[] {
  const f = journalFile(records);
  cleanup.push(f.remove);
  return readJournal(f.path);
}

const leftOutMessage = 'FAILED, left out within the failure budget: adc2: POST sslcertkey failed: errorcode 1536 (HTTP 599): Invalid certificate';
/** What a format-1 run that left adc2 out and was then rolled back wrote. */
const format1 = [
  { type: 'step-start', step: 'import-certkey', kind: 'import-certkey', title: 'Import' },
  { type: 'target', step: 'import-certkey', target: 'adc1', status: 'ok', message: 'certkey otp-new added', changed: { certkey: 'otp-new', created: true } },
  { type: 'target', step: 'import-certkey', target: 'adc2', status: 'skipped', message: leftOutMessage },
  { type: 'step-start', step: 'bind-new-key', kind: 'bind-new-key', title: 'Bind' },
  { type: 'target', step: 'bind-new-key', target: 'adc1', status: 'ok', message: 'otp-new bound next to otp-old', changed: { bound: ['otp-old', 'otp-new'], capability: 'multi' } },
  { type: 'rollback-start', reason: 'asked' },
  { type: 'undo', id: 3, step: 'bind-new-key', target: 'adc1', status: 'undone', message: 'otp-new unbound (bound now: otp-old)' },
  { type: 'undo', id: 1, step: 'import-certkey', target: 'adc1', status: 'undone', message: 'certkey otp-new deleted' },
  { type: 'undo', id: 4, step: 'unbind-old-key', target: 'adc3', status: 'undone', message: 'otp-old unbound (bound now: none)' },
];

describe('journal format', () => {
  it('this version writes format 2', () => {
    expect(JOURNAL_FORMAT).toBe(2);
  });

  it('reads a format-1 journal (no version): left out, bindings read back and the certkey deleted become fields', () => {
    const records = read([runRecord(1), ...format1]);
    const targets = records.filter((r): r is Extract<Stamped, { type: 'target' }> => r.type === 'target');
    expect(targets.map((t) => [t.target, t.leftOut, t.bound, t.capability])).toEqual([
      ['adc1', undefined, undefined, undefined],
      ['adc2', true, undefined, undefined],
      ['adc1', undefined, ['otp-old', 'otp-new'], 'multi'],
    ]);
    const undos = records.filter((r): r is Extract<Stamped, { type: 'undo' }> => r.type === 'undo');
    expect(undos.map((u) => [u.step, u.bound, u.certkeyDeleted])).toEqual([
      ['bind-new-key', ['otp-old'], undefined],
      ['import-certkey', undefined, 'otp-new'],
      ['unbind-old-key', [], undefined],
    ]);
    // The report of an old run shows the same facts as one of this version would.
    const report = buildReport(records);
    expect(report.steps.find((s) => s.id === 'import-certkey')!.targets[1]).toMatchObject({ target: 'adc2', status: 'skipped', leftOut: true });
    expect(report.steps.find((s) => s.id === 'import-certkey')!.rollback[0]).toMatchObject({ certkeyDeleted: 'otp-new' });
  });

  it('reads format-2 records as written: the words are never read for facts', () => {
    const records = read([runRecord(1, 2), ...format1.map((r) => (r.type === 'rollback-start' ? { ...r, format: 2 } : r))]);
    expect(records.some((r) => r.type === 'target' && r.leftOut)).toBe(false);
    expect(records.some((r) => r.type === 'undo' && (r.bound || r.certkeyDeleted))).toBe(false);
  });

  it('a resumed format-1 run: the old attempt is read as format 1, the new one as written', () => {
    const records = read([
      runRecord(1),
      { type: 'target', step: 'import-certkey', target: 'adc2', status: 'skipped', message: leftOutMessage },
      runRecord(2, 2),
      { type: 'target', step: 'bind-new-key', target: 'adc2', status: 'skipped', message: leftOutMessage },
    ]);
    expect(records.filter((r) => r.type === 'target').map((r) => r.type === 'target' && r.leftOut)).toEqual([true, undefined]);
  });

  it('a rollback by this version of a format-1 run writes format 2 from its start on', () => {
    const records = read([
      runRecord(1),
      { type: 'rollback-start', format: 2, reason: 'asked' },
      { type: 'undo', id: 1, step: 'bind-new-key', target: 'adc1', status: 'failed', message: 'kept (bound now: otp-new)' },
    ]);
    expect(records.at(-1)).not.toHaveProperty('bound');
  });

  it('refuses a format it does not know, naming it and the formats it reads', () => {
    const f = journalFile([runRecord(1, 3), { type: 'run-end', status: 'succeeded', exitCode: 0 }]);
    cleanup.push(f.remove);
    expect(() => readJournal(f.path)).toThrow(/run journal is in format 3, which this adc-cutover cannot read \(it reads formats 1 to 2\)/);
    try {
      readJournal(f.path);
    } catch (err) {
      expect((err as { exitCode?: number }).exitCode).toBe(2);
    }
  });
});
