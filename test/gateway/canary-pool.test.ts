// Choosing a canary of the pool (src/gateway/canary-pool.ts), on a fake clock: three canaries give
// three logons through one gateway in one TOTP step without waiting, a fourth waits for the next
// step, and the wait is exactly what freshCode then does with the store handed back.
import { describe, expect, it } from 'vitest';
import { chooseCanary, newAcceptedSteps, type Claims } from '../../src/gateway/index.js';
import { freshCode } from '../../src/gateway/passcode.js';
import { fakeClock, timeInStep } from './clock.js';

const GW = 'https://gw1.example.net';
const POOL = [{ user: 'canary' }, { user: 'canary2' }, { user: 'canary3' }];
const device = { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEH' };

/** One check as the logon-check step does it: choose, get a fresh code, record it as accepted. */
async function check(clock: ReturnType<typeof fakeClock>, accepted: ReturnType<typeof newAcceptedSteps>, claims: Claims, gw = GW) {
  const choice = chooseCanary(POOL, gw, accepted, clock.now(), { claims });
  const key = `${new URL(gw).origin}|${choice.canary.user}`;
  const fresh = await freshCode(device, clock, choice.acceptedSteps, key, 5, () => {});
  choice.acceptedSteps.set(key, fresh.step);
  return { user: choice.canary.user, step: fresh.step, waitedMs: fresh.waitedMs, waitMs: choice.waitMs };
}

describe('chooseCanary', () => {
  it('three checks in one step take the three canaries without waiting; a fourth waits for the next step', async () => {
    const clock = fakeClock(timeInStep(2));
    const accepted = newAcceptedSteps();
    const claims: Claims = new Map();
    const first3 = [await check(clock, accepted, claims), await check(clock, accepted, claims), await check(clock, accepted, claims)];
    expect(first3.map((c) => c.user)).toEqual(['canary', 'canary2', 'canary3']);
    expect(first3.every((c) => c.step === 57_000_000 && c.waitedMs === 0 && c.waitMs === 0)).toBe(true);
    expect(clock.sleeps).toEqual([]);

    const fourth = await check(clock, accepted, claims);
    expect(fourth).toMatchObject({ user: 'canary', step: 57_000_001, waitMs: 28_000 });
    expect(clock.sleeps).toEqual([28_050]);
    // In the new step the pool is whole again: the next two go at once.
    const next = [await check(clock, accepted, claims), await check(clock, accepted, claims)];
    expect(next.map((c) => [c.user, c.step, c.waitedMs])).toEqual([
      ['canary2', 57_000_001, 0],
      ['canary3', 57_000_001, 0],
    ]);
  });

  it('counts per gateway: a canary used through one gateway is still fresh for another', async () => {
    const clock = fakeClock(timeInStep(2));
    const accepted = newAcceptedSteps();
    const claims: Claims = new Map();
    for (let i = 0; i < 3; i++) await check(clock, accepted, claims);
    const other = await check(clock, accepted, claims, 'https://gw2.example.net');
    expect(other).toMatchObject({ user: 'canary', step: 57_000_000, waitedMs: 0 });
  });

  it('takes what another process recorded as accepted into account, and two checks at once never get one canary for one step', () => {
    const accepted = newAcceptedSteps();
    accepted.set(`${GW}|canary`, 57_000_000);
    const claims: Claims = new Map();
    const now = timeInStep(10);
    const a = chooseCanary(POOL, GW, accepted, now, { claims });
    const b = chooseCanary(POOL, GW, accepted, now, { claims });
    const c = chooseCanary(POOL, GW, accepted, now, { claims });
    expect([a, b, c].map((x) => [x.canary.user, x.step])).toEqual([
      ['canary2', 57_000_000],
      ['canary3', 57_000_000],
      ['canary', 57_000_001],
    ]);
    expect(c.waitMs).toBe(20_000);
    // The store handed to the third check rules out the current step for its canary.
    expect(c.acceptedSteps.get(`${GW}|canary`)).toBe(57_000_000);
  });

  it('near the end of a step every check waits anyway, so the pool is counted from the next step', () => {
    const choice = chooseCanary(POOL, GW, newAcceptedSteps(), timeInStep(27), { claims: new Map() });
    expect(choice).toMatchObject({ canary: { user: 'canary' }, step: 57_000_001, waitMs: 3000 });
  });

  it("a single canary (the inventory's `canary:` form) is a pool of one", () => {
    const claims: Claims = new Map();
    const accepted = newAcceptedSteps();
    const one = [{ user: 'canary' }];
    expect(chooseCanary(one, GW, accepted, timeInStep(1), { claims }).step).toBe(57_000_000);
    expect(chooseCanary(one, GW, accepted, timeInStep(1), { claims }).step).toBe(57_000_001);
  });
});
