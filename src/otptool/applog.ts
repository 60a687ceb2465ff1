// The plain log file operators of the vendor tool read: `app.log` in the current directory, one
// timestamped line per user (DN, what happened, why), appended to like the vendor's, and written
// while the run goes (at most a second behind), so `tail -f app.log` follows it. It holds DNs,
// counts, KIDs and file names — never a password, a key, a passphrase, a value or an OTP secret:
// every line is built here from those alone.
import { open, type FileHandle } from 'node:fs/promises';
import { AdcError, InputError, errorMessage } from '../errors.js';

export type LogLevel = 'INFO' | 'WARNING' | 'ERROR';

/** What happened to one user. */
export type EntryOutcome = 'modified' | 'would-modify' | 'not-modified' | 'failed';

export interface EntryEvent {
  dn: string;
  outcome: EntryOutcome;
  /** Why, in operator words: what changed, or why nothing did. No value, no secret. */
  reason: string;
}

const OUTCOME_TEXT: Record<EntryOutcome, [LogLevel, string]> = {
  modified: ['INFO', 'modified'],
  'would-modify': ['INFO', 'would modify (dry run)'],
  'not-modified': ['INFO', 'not modified'],
  failed: ['ERROR', 'FAILED'],
};

/** Lines wait at most this long in memory: a tail -f (or a crash) sees the run nearly as it is. */
const FLUSH_AFTER_MS = 1000;

export class AppLog {
  private buffer: string[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private writeError: AdcError | undefined;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  /** Opens for appending (created 0600: DNs of every OTP user are worth keeping to ourselves). */
  static async open(path: string): Promise<AppLog> {
    try {
      return new AppLog(await open(path, 'a', 0o600), path);
    } catch (err) {
      throw new InputError(`-log ${path}: cannot open the log file for appending (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
    }
  }

  line(level: LogLevel, message: string, at: Date = new Date()): void {
    // One record per line, whatever a DN or a server message holds.
    this.buffer.push(`${at.toISOString()} ${level.padEnd(7)} ${message.replace(/[\r\n]+/g, ' ')}\n`);
    if (this.buffer.length >= 500) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS).unref();
  }

  /** Set once a write failed; every line from then on is missing from the file. */
  get failure(): AdcError | undefined {
    return this.writeError;
  }

  entry(e: EntryEvent, at?: Date): void {
    const [level, text] = OUTCOME_TEXT[e.outcome];
    this.line(level, `${e.dn}: ${text}: ${e.reason}`, at);
  }

  /**
   * Writes what is buffered; writes are chained so lines keep their order. Never rejects: a
   * failed write is kept in `failure` (a rejection nobody awaits would end the process mid-run).
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return this.flushing;
    const text = this.buffer.join('');
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (this.writeError) return;
      try {
        const buf = Buffer.from(text, 'utf8');
        const { bytesWritten } = await this.fh.write(buf, 0, buf.length);
        if (bytesWritten !== buf.length) throw Object.assign(new Error(`short write (${bytesWritten} of ${buf.length} bytes)`), { code: 'ENOSPC' });
      } catch (err) {
        this.writeError = new AdcError(`-log ${this.path}: writing the log failed (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}); the lines from then on are missing`, undefined, {
          cause: err,
        });
      }
    });
    return this.flushing;
  }

  /** Flushes and closes; rejects with `failure` when any line could not be written. */
  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
    if (this.writeError) throw this.writeError;
  }
}
