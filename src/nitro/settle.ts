// Settling a write whose reply never came. The client gave up waiting, but the appliance may
// still be working on the request and apply it seconds later; a re-read made at once would see
// the old state and take "not there yet" for "not done" — and whatever the caller does next
// (retry, fail and roll back) then races the late write. So the deciding read polls until the
// change shows or the appliance has had `settleMs` more to finish it.
import { NitroOutcomeUnknownError, NitroUnreachableError } from './errors.js';

/**
 * `landed`: the change was seen, in `value`. Otherwise it was not seen within the window (treat
 * it as not made, and say so); `value` is the last state read, if any read succeeded.
 */
type Settled<T> = { landed: true; value: T; waitedMs: number } | { landed: false; value?: T; waitedMs: number; readError?: unknown };

/** How often the state is read while waiting. */
const POLL_MS = 250;

/**
 * Read `read()` until `landed(value)` holds or `err.settleMs` has passed. The first read is made
 * at once (a dropped connection after the change was applied settles without waiting).
 */
async function settle<T>(err: NitroOutcomeUnknownError, read: () => Promise<T>, landed: (value: T) => boolean): Promise<Settled<T>> {
  const started = Date.now();
  let last: { value: T } | undefined;
  let readError: unknown;
  for (;;) {
    // A slow appliance may leave the reads unanswered too: that is no reason to stop waiting for
    // the write, nor to fail in a way that is not "outcome unknown" (which makes the undo wait).
    // Any other failure (credentials, TLS, a reply that is not NITRO) will not pass by waiting:
    // stop at once, still as "outcome unknown".
    try {
      last = { value: await read() };
      readError = undefined;
    } catch (e) {
      readError = e;
      if (!(e instanceof NitroUnreachableError)) return { landed: false, waitedMs: Date.now() - started, readError };
    }
    const waitedMs = Date.now() - started;
    if (last && readError === undefined && landed(last.value)) return { landed: true, value: last.value, waitedMs };
    if (waitedMs >= err.settleMs) return { landed: false, waitedMs, ...(last ? { value: last.value } : {}), ...(readError !== undefined ? { readError } : {}) };
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, err.settleMs - waitedMs))));
  }
}

/**
 * The state that shows the change, once it shows; or, when it never does within the window, the
 * same failure saying how long it was waited for and that it is taken as not made. `what` names
 * the change ("the binding of otp-new") for that message.
 */
export async function awaitChange<T, U extends T>(err: NitroOutcomeUnknownError, what: string, read: () => Promise<T>, landed: (value: T) => value is U): Promise<U>;
export async function awaitChange<T>(err: NitroOutcomeUnknownError, what: string, read: () => Promise<T>, landed: (value: T) => boolean): Promise<T>;
export async function awaitChange<T>(err: NitroOutcomeUnknownError, what: string, read: () => Promise<T>, landed: (value: T) => boolean): Promise<T> {
  const s = await settle(err, read, landed);
  if (!s.landed) throw notSettled(err, what, s);
  return s.value;
}

function notSettled(err: NitroOutcomeUnknownError, what: string, s: { waitedMs: number; readError?: unknown }): NitroOutcomeUnknownError {
  const unread = s.readError === undefined ? '' : ` (the last read failed too: ${s.readError instanceof Error ? s.readError.message : String(s.readError)})`;
  return new NitroOutcomeUnknownError(
    {
      appliance: err.appliance,
      method: err.method,
      resource: err.resource,
      httpStatus: undefined,
      errorcode: undefined,
      message: `${err.nitroMessage}; ${what} had not shown ${(s.waitedMs / 1000).toFixed(1)} s later${unread}, so it is taken as not made`,
    },
    { cause: err, settleMs: err.settleMs },
  );
}
