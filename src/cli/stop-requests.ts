// Counting stop requests from signals. The first asks for a safe stop (after the current write,
// journal kept); a second means "stop at once", rollback included. Only a person pressing Ctrl-C
// twice may ask for the second: a supervisor's stop arrives as several signals for one request —
// `timeout` sends SIGTERM to the child and then to its process group (so the child gets two),
// and some send SIGINT and SIGTERM together. Read as two presses, one expiry killed the run in
// the middle of a write or of its rollback.

export type StopSignal = 'SIGINT' | 'SIGTERM';
/** 'safe-stop': the first request; 'force': a second one; 'same': part of a request already made. */
export type StopVerdict = 'safe-stop' | 'force' | 'same';

/** Signals this close together, one of them a SIGTERM, are one request. */
export const TOGETHER_MS = 1000;

export class StopRequests {
  private requests = 0;
  private last: { signal: StopSignal; at: number } | undefined;

  receive(signal: StopSignal, at = Date.now()): StopVerdict {
    const prev = this.last;
    this.last = { signal, at };
    // A SIGTERM never escalates: sent again (or after a Ctrl-C) it repeats a stop already asked
    // for. SIGKILL is how a supervisor insists.
    if (signal === 'SIGTERM' && this.requests > 0) return 'same';
    // A SIGINT arriving with a SIGTERM is the same supervisor's stop, not a second press.
    if (signal === 'SIGINT' && prev?.signal === 'SIGTERM' && at - prev.at < TOGETHER_MS) return 'same';
    this.requests++;
    return this.requests === 1 ? 'safe-stop' : 'force';
  }
}
