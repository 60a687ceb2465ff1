// Late writes: until when a write may still land, from what the journal recorded of it and the
// appliance's timings. Pure: no appliance, no clock but the times given.
import { describe, expect, it } from 'vitest';
import { lateWriteDeadline, lateWriteHorizonMs, mayStillLand, type WriteState } from '../../src/steps/late-writes.js';

const timings = { timeoutMs: 30_000, settleMs: 5_000 };
const sent = '2026-11-23T09:43:00.000Z';
const at = (iso: string, ms = 0) => Date.parse(iso) + ms;
const change = (more: Partial<WriteState> & { done?: unknown } = {}): WriteState & { done?: unknown } => ({ id: 7, step: 'unbind-old-key', target: 'adc1', action: 'unbind', ...more });

describe('lateWriteDeadline', () => {
  it('a done write cannot land later: no wait', () => {
    expect(lateWriteDeadline(timings, change({ done: { applied: true }, writeSentAt: sent, outcomeUnknownAt: sent }))).toBe(0);
  });

  it('a write the step gave up on with no reply: one more settle window from then', () => {
    expect(lateWriteDeadline(timings, change({ writeSentAt: sent, outcomeUnknownAt: '2026-11-23T09:43:35.000Z', stepEnded: true }))).toBe(at('2026-11-23T09:43:35.000Z', 5_000));
  });

  it('a write under way when the process died: its timeout and a settle window from when it left', () => {
    expect(lateWriteDeadline(timings, change({ writeSentAt: sent }))).toBe(at(sent, 35_000));
  });

  it('the process died before sending anything, or the step ended on an answered refusal: no wait', () => {
    expect(lateWriteDeadline(timings, change())).toBe(0);
    expect(lateWriteDeadline(timings, change({ writeSentAt: sent, stepEnded: true }))).toBe(0);
  });

  it('a time the journal cannot parse gives no deadline rather than a wrong one', () => {
    expect(lateWriteDeadline(timings, change({ writeSentAt: 'not a time' }))).toBe(0);
  });
});

describe('mayStillLand', () => {
  const noReply = change({ writeSentAt: sent, outcomeUnknownAt: '2026-11-23T09:43:35.000Z', stepEnded: true });

  it('the horizon is ten call timeouts, and at least a minute', () => {
    expect(lateWriteHorizonMs(timings)).toBe(300_000);
    expect(lateWriteHorizonMs({ timeoutMs: 1_500, settleMs: 1_500 })).toBe(60_000);
  });

  it('a write with no reply may land until the horizon from when it was sent', () => {
    expect(mayStillLand(timings, noReply, at(sent, 299_999))).toBe(true);
    expect(mayStillLand(timings, noReply, at(sent, 300_000))).toBe(false);
  });

  it('never once it is done, was reverted by an undo, or was answered', () => {
    expect(mayStillLand(timings, { ...noReply, done: { applied: true } }, at(sent, 1))).toBe(false);
    expect(mayStillLand(timings, { ...noReply, reverted: true }, at(sent, 1))).toBe(false);
    expect(mayStillLand(timings, change({ writeSentAt: sent, stepEnded: true }), at(sent, 1))).toBe(false);
  });
});
