// Change records read back from the journal as their action has them: typed fields, checked
// shapes, and the binding steps' rollback decisions taken from them.
import { afterEach, describe, expect, it } from 'vitest';
import { changeRecords, readJournal } from '../../src/runner/journal.js';
import type { ChangeRecord } from '../../src/runner/step.js';
import { boundAfterRollback, restoreKeys, type BindingChange } from '../../src/steps/binding-check.js';
import { ChangeRecordError, typedChange } from '../../src/steps/records.js';
import { journalFile, runRecord } from '../runner/journal-lines.js';

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function changesOf(records: Record<string, unknown>[]): ChangeRecord[] {
  const f = journalFile([runRecord(1, 2), ...records]);
  cleanup.push(f.remove);
  return changeRecords(readJournal(f.path));
}

const intent = (id: number, step: string, action: string, data: Record<string, unknown>, target = 'adc1') => ({ type: 'intent', id, step, target, action, data });
const done = (id: number, data: Record<string, unknown>) => ({ type: 'done', id, data });

function bindingChange(r: ChangeRecord): BindingChange {
  const c = typedChange(r);
  if (c.action !== 'bind' && c.action !== 'unbind') throw new Error(`not a binding change: ${c.action}`);
  return c;
}

describe('typedChange', () => {
  it('gives the intent and done of each action as typed fields', () => {
    const [upload, add] = changesOf([
      intent(1, 'import-certkey', 'upload-file', { prefix: 'otp-new', ext: 'pem', when: '2026-11-23T09:43:09.000Z', sha256: 'ab'.repeat(32) }),
      done(1, { name: 'otp-new-20261123T094309Z.pem' }),
      intent(2, 'import-certkey', 'add-certkey', { certkey: 'otp-new', existedBefore: false, cert: 'a.pem', key: 'a.key' }),
    ]).map(typedChange);
    expect(upload.action === 'upload-file' && upload.done?.name).toBe('otp-new-20261123T094309Z.pem');
    expect(add.action === 'add-certkey' && [add.data.certkey, add.data.existedBefore, add.done]).toEqual(['otp-new', false, undefined]);
  });

  it('reads a bind written before restoreWith was journaled as restoring nothing extra', () => {
    const [c] = changesOf([intent(1, 'bind-new-key', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old'] })]).map(bindingChange);
    expect(c.action === 'bind' && c.data.restoreWith).toBeNull();
  });

  it('refuses a record whose shape is not what its action writes, naming the record', () => {
    const [bad, foreign] = changesOf([intent(1, 'bind-new-key', 'bind', { certkey: 42, boundBefore: 'otp-old' }), intent(2, 'other', 'format-disk', {})]);
    expect(() => typedChange(bad)).toThrow(ChangeRecordError);
    expect(() => typedChange(bad)).toThrow(/journal record 1 \(bind-new-key on adc1, "bind"\): its intent is not as written/);
    expect(() => typedChange(foreign)).toThrow(/no step of this version writes that action/);
    const [badDone] = changesOf([intent(1, 'unbind-old-key', 'unbind', { certkey: 'otp-old', boundBefore: [] }), done(1, { applied: 'yes' })]);
    expect(() => typedChange(badDone)).toThrow(/its done record is not as written/);
  });
});

describe('the binding rollback decisions, from journal records', () => {
  it('a bind of a key that was not bound before: it must go, and the keys bound before come back first', () => {
    const [c] = changesOf([
      intent(1, 'bind-new-key', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old'], restoreWith: null }),
      done(1, { applied: true, capability: 'multi', evidence: 'both listed' }),
    ]).map(bindingChange);
    expect(boundAfterRollback(c)).toBe(false);
    expect(restoreKeys(c)).toEqual(['otp-old']);
  });

  it('a swap bind: the old key this run unbound a step earlier comes back too', () => {
    const [c] = changesOf([intent(1, 'bind-new-key#2', 'bind', { certkey: 'otp-new', boundBefore: [], restoreWith: 'otp-old' })]).map(bindingChange);
    expect(restoreKeys(c)).toEqual(['otp-old']);
    expect(boundAfterRollback(c)).toBe(false);
  });

  it('a key bound before the run stays bound; a change the run did not make is not its to assert', () => {
    const [kept, probe] = changesOf([
      intent(1, 'bind-new-key', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old', 'otp-new'], restoreWith: null }),
      intent(2, 'bind-new-key', 'bind', { certkey: 'otp-new', boundBefore: ['otp-old'], restoreWith: null }, 'adc2'),
      done(2, { applied: false, capability: 'single', evidence: 'refused' }),
    ]).map(bindingChange);
    expect(boundAfterRollback(kept)).toBe(true);
    expect(boundAfterRollback(probe)).toBeUndefined();
  });

  it('an unbind of the old key: it must be bound again after the rollback, unless the run never unbound it', () => {
    const [unbound, already] = changesOf([
      intent(1, 'unbind-old-key', 'unbind', { certkey: 'otp-old', boundBefore: ['otp-old', 'otp-new'] }),
      done(1, { applied: true }),
      intent(2, 'unbind-old-key', 'unbind', { certkey: 'otp-old', boundBefore: ['otp-new'] }, 'adc2'),
      done(2, { applied: false }),
    ]).map(bindingChange);
    expect(boundAfterRollback(unbound)).toBe(true);
    expect(restoreKeys(unbound)).toEqual(['otp-old', 'otp-new']);
    expect(boundAfterRollback(already)).toBeUndefined();
  });
});
