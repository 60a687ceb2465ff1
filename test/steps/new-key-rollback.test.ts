// The last-key guard of the fleet-wide unbind of the new key (src/steps/new-key-rollback.ts): the
// bindings read just before the unbind decide, against what the appliance held before the run.
import { describe, expect, it } from 'vitest';
import { leavesNoKey } from '../../src/steps/new-key-rollback.js';

describe('leavesNoKey', () => {
  it('the new key alone where the old one was bound before the run (it went meanwhile): unbinding it would leave none, so it is kept', () => {
    expect(leavesNoKey('otp-new', ['otp-new'], ['otp-old'])).toBe(true);
  });

  it('nothing bound now either: still no unbind that would end with no key where there was one', () => {
    expect(leavesNoKey('otp-new', [], ['otp-old'])).toBe(true);
  });

  it('another key stays bound (the old one back, or one the run does not manage): the unbind may go', () => {
    expect(leavesNoKey('otp-new', ['otp-old', 'otp-new'], ['otp-old'])).toBe(false);
    expect(leavesNoKey('otp-new', ['otp-new', 'otp-other'], ['otp-old'])).toBe(false);
  });

  it('an appliance with no key before the run may end with none: exactly as before', () => {
    expect(leavesNoKey('otp-new', ['otp-new'], [])).toBe(false);
  });
});
