// The failure budget: how many appliances a run may leave out and go on without.
import { describe, expect, it } from 'vitest';
import { withinBudget } from '../../src/steps/fleet.js';

describe('withinBudget', () => {
  it('budget 0 (the default): any failure stops the run', () => {
    expect(withinBudget({ leftOutBefore: 0, failedNow: 1, budget: 0, appliances: 3 })).toBe(false);
  });

  it('counts over the whole run: one left out at the import and one at the binding are two', () => {
    expect(withinBudget({ leftOutBefore: 0, failedNow: 1, budget: 1, appliances: 3 })).toBe(true);
    expect(withinBudget({ leftOutBefore: 1, failedNow: 1, budget: 1, appliances: 3 })).toBe(false);
    expect(withinBudget({ leftOutBefore: 1, failedNow: 1, budget: 2, appliances: 3 })).toBe(true);
  });

  it('several failing in one step count each', () => {
    expect(withinBudget({ leftOutBefore: 0, failedNow: 2, budget: 1, appliances: 4 })).toBe(false);
  });

  it('never leaves out every appliance, whatever the budget', () => {
    expect(withinBudget({ leftOutBefore: 1, failedNow: 1, budget: 5, appliances: 2 })).toBe(false);
    expect(withinBudget({ leftOutBefore: 0, failedNow: 1, budget: 1, appliances: 1 })).toBe(false);
  });
});
