// Settling a write whose reply never came. The client gave up waiting, but the appliance may
// still be working on the request and apply it seconds later; a re-read made at once would see
// the old state and take "not there yet" for "not done" — and whatever the caller does next
// (retry, fail and roll back) then races the late write. So the deciding read polls until the
// change shows or the appliance has had `settleMs` more to finish it.
import { NitroOutcomeUnknownError } from './errors.js';

export interface Settled<T> {
  /** The last state read. */
  value: T;
  /** The change was seen. false: not seen within the window; treat it as not made, and say so. */
  landed: boolean;
  waitedMs: number;
}

/** How often the state is read while waiting. */
const POLL_MS = 250;

/**
 * Read `read()` until `landed(value)` holds or `err.settleMs` has passed. The first read is made
 * at once (a dropped connection after the change was applied settles without waiting).
 */
export async function settle<T>(
  err: NitroOutcomeUnknownError,
  read: () => Promise<T>,
  landed: (value: T) => boolean,
): Promise<Settled<T>> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    const waitedMs = Date.now() - started;
    if (landed(value)) return { value, landed: true, waitedMs };
    if (waitedMs >= err.settleMs) return { value, landed: false, waitedMs };
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, err.settleMs - waitedMs)));
  }
}

/** The same failure, saying how long the change was waited for and that it never showed. */
export function notSettled(err: NitroOutcomeUnknownError, what: string, waitedMs: number): NitroOutcomeUnknownError {
  return new NitroOutcomeUnknownError({
    appliance: err.appliance, method: err.method, resource: err.resource, httpStatus: undefined, errorcode: undefined,
    message: `${err.nitroMessage}; ${what} had not shown ${(waitedMs / 1000).toFixed(1)} s later, so it is taken as not made`,
  }, { cause: err, settleMs: err.settleMs });
}
