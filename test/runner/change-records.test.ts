// The change records a rollback is handed, folded from journal lines: done, no reply, write sent,
// undone, and what a later attempt or a completed rollback seals.
import { afterEach, describe, expect, it } from 'vitest';
import { changeRecords, readJournal } from '../../src/runner/journal.js';
import { journalFile, runRecord } from './journal-lines.js';

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function read(records: Record<string, unknown>[], tail?: string) {
  const f = journalFile(records, tail !== undefined ? { tail } : {});
  cleanup.push(f.remove);
  return readJournal(f.path);
}

const bind = (id: number, target: string) => ({ type: 'intent', id, step: 'bind-new-key', target, action: 'bind', data: { certkey: 'otp-new', boundBefore: ['otp-old'], restoreWith: null } });

describe('changeRecords', () => {
  it('folds each intent with its done, its write and its no-reply, in journal order', () => {
    const c = changeRecords(
      read([
        runRecord(1, 2),
        { type: 'step-start', step: 'bind-new-key', kind: 'bind-new-key', title: 'Bind' },
        bind(1, 'adc1'),
        { type: 'write-sent', id: 1 },
        { type: 'done', id: 1, data: { applied: true } },
        bind(2, 'adc2'),
        { type: 'write-sent', id: 2 },
        { type: 'outcome-unknown', id: 2, message: 'no reply' },
        { type: 'step-end', step: 'bind-new-key', status: 'failed', durationMs: 5 },
      ]),
    );
    expect(c.map((r) => [r.id, r.target, r.done, r.writeSentAt !== undefined, r.outcomeUnknownAt !== undefined, r.stepEnded])).toEqual([
      [1, 'adc1', { applied: true }, true, false, true],
      [2, 'adc2', undefined, true, true, true],
    ]);
  });

  it('a step the process died in never ended for its records, even once a later attempt ends that step', () => {
    const c = changeRecords(
      read([
        runRecord(1, 2),
        { type: 'step-start', step: 'bind-new-key', kind: 'bind-new-key', title: 'Bind' },
        bind(1, 'adc1'),
        { type: 'write-sent', id: 1 },
        runRecord(2, 2),
        { type: 'step-start', step: 'bind-new-key', kind: 'bind-new-key', title: 'Bind' },
        bind(2, 'adc1'),
        { type: 'done', id: 2, data: { applied: true } },
        { type: 'step-end', step: 'bind-new-key', status: 'ok', durationMs: 5 },
      ]),
    );
    expect(c.find((r) => r.id === 1)?.stepEnded).toBeUndefined();
    expect(c.find((r) => r.id === 2)?.stepEnded).toBe(true);
  });

  it('an undo marks its record; only a complete rollback makes it settled history for a later one', () => {
    const records = [
      runRecord(1, 2),
      bind(1, 'adc1'),
      { type: 'done', id: 1, data: { applied: true } },
      bind(2, 'adc2'),
      { type: 'done', id: 2, data: { applied: true } },
      { type: 'rollback-start', format: 2, reason: 'asked' },
      { type: 'undo', id: 1, step: 'bind-new-key', target: 'adc1', status: 'undone', message: 'otp-new unbound', bound: ['otp-old'] },
      { type: 'undo', id: 2, step: 'bind-new-key', target: 'adc2', status: 'not-needed', message: 'otp-new was not bound' },
    ];
    const open = changeRecords(read([...records, { type: 'rollback-end', status: 'incomplete' }]));
    expect(open.map((r) => [r.undone, r.reverted, r.rolledBackBefore])).toEqual([
      [true, true, undefined],
      [true, undefined, undefined],
    ]);
    const complete = changeRecords(read([...records, { type: 'rollback-end', status: 'complete' }]));
    expect(complete.map((r) => r.rolledBackBefore)).toEqual([true, true]);
  });

  it('ignores a line torn by a crash at the end, and refuses one in the middle', () => {
    expect(read([runRecord(1, 2), bind(1, 'adc1')], '{"t":"2026-11-23T09:44:00Z","seq":3,"type":"do').map((r) => r.type)).toEqual(['run', 'intent']);
    const f = journalFile([runRecord(1, 2)], { tail: '{"type":\n' + JSON.stringify({ t: 'x', seq: 3, type: 'note', target: 'a', level: 'info', message: 'm' }) + '\n' });
    cleanup.push(f.remove);
    expect(() => readJournal(f.path)).toThrow(/events\.jsonl:2: the run journal is corrupt/);
  });
});
