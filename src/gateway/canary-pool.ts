// Which canary a logon check uses. A gateway refuses a TOTP code it has already accepted, so one
// canary gives one logon per gateway per 30-s step, and every further check in that step used to
// sit out the rest of it. With a pool, a check takes a canary whose code for the current step
// this gateway has not accepted yet, and waits for the next step only when every canary has been
// used in this one.
import { acceptedStepKey, STEP_SECONDS } from './passcode.js';
import type { AcceptedSteps } from './types.js';

export interface CanaryChoice<T> {
  canary: T;
  /** The TOTP step whose code the check will send. */
  step: number;
  /** How long the check will wait for that step (0: it goes now). */
  waitMs: number;
  /**
   * The accepted-steps store to hand to logonCheck: the real one, except that it also rules out
   * every step before the chosen one, so the check cannot send a code another check of this
   * process has just been given.
   */
  acceptedSteps: AcceptedSteps;
}

/** Steps handed out in this process, per gateway and canary, accepted yet or not. */
export type Claims = Map<string, number>;
const processClaims: Claims = new Map();

/**
 * The canary for the next check through `gatewayUrl` at time `now`: the first in pool order whose
 * code for the step no check has used; when the current step has fewer than `minSecondsLeft`
 * seconds to go (the code could arrive after it turned), the next step counts as the current one.
 */
export function chooseCanary<T extends { user: string }>(
  pool: readonly T[],
  gatewayUrl: string,
  accepted: AcceptedSteps,
  now: number,
  opts: { minSecondsLeft?: number; claims?: Claims } = {},
): CanaryChoice<T> {
  if (pool.length === 0) throw new Error('chooseCanary: the canary pool is empty');
  const claims = opts.claims ?? processClaims;
  const stepMs = STEP_SECONDS * 1000;
  const current = Math.floor(now / stepMs);
  const first = (current + 1) * stepMs - now < (opts.minSecondsLeft ?? 5) * 1000 ? current + 1 : current;
  const lastUsed = (key: string) => Math.max(accepted.get(key) ?? -Infinity, claims.get(key) ?? -Infinity);
  // Each step offers every canary once; claims only move forward, so a free pair is never far off.
  for (let step = first; ; step++) {
    for (const canary of pool) {
      const key = acceptedStepKey(gatewayUrl, canary.user);
      if (lastUsed(key) >= step) continue;
      claims.set(key, step);
      return { canary, step, waitMs: Math.max(0, step * stepMs - now), acceptedSteps: floorAt(accepted, key, step - 1) };
    }
  }
}

function floorAt(accepted: AcceptedSteps, key: string, floor: number): AcceptedSteps {
  return {
    get: (k) => {
      const v = accepted.get(k);
      return k === key ? Math.max(v ?? floor, floor) : v;
    },
    set: (k, step) => accepted.set(k, step),
  };
}
