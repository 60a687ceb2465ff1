// The plain log file operators of the vendor tool read: `app.log` in the current directory, one
// timestamped line per user (DN, what happened, why), appended to like the vendor's. It holds DNs,
// counts, KIDs and file names — never a password, a key, a passphrase, a value or an OTP secret:
// every line is built here from those alone.
import { open, type FileHandle } from 'node:fs/promises';
import { InputError, errorMessage } from '../errors.js';

export type LogLevel = 'INFO' | 'WARNING' | 'ERROR';

/** What happened to one user. */
export type EntryOutcome = 'modified' | 'would-modify' | 'not-modified' | 'failed' | 'not-processed';

export interface EntryEvent {
  dn: string;
  outcome: EntryOutcome;
  /** Why, in operator words: what changed, or why nothing did. No value, no secret. */
  reason: string;
}

const OUTCOME_TEXT: Record<EntryOutcome, [LogLevel, string]> = {
  'modified': ['INFO', 'modified'],
  'would-modify': ['INFO', 'would modify (dry run)'],
  'not-modified': ['INFO', 'not modified'],
  'failed': ['ERROR', 'FAILED'],
  'not-processed': ['WARNING', 'not processed'],
};

export class AppLog {
  private buffer: string[] = [];
  private flushing: Promise<void> = Promise.resolve();

  private constructor(private readonly fh: FileHandle, readonly path: string) {}

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
  }

  entry(e: EntryEvent, at?: Date): void {
    const [level, text] = OUTCOME_TEXT[e.outcome];
    this.line(level, `${e.dn}: ${text}: ${e.reason}`, at);
  }

  /** Writes what is buffered; writes are chained so lines keep their order. */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.flushing;
    const text = this.buffer.join('');
    this.buffer = [];
    this.flushing = this.flushing.then(() => this.fh.write(text)).then(() => undefined);
    return this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }
}
