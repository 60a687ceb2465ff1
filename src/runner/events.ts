// What reporters see: every journal record as it is written, plus progress (not journaled:
// too frequent, and the journal must stay small enough to read after a crash).
import type { JournalRecord } from './journal.js';
import type { Progress } from './step.js';

export type RunEvent = (JournalRecord & { t?: string }) | ({ type: 'progress'; step: string; target: string; t?: string } & Progress);

export interface Reporter {
  event(ev: RunEvent): void;
  close(): Promise<void>;
}

export class Reporters implements Reporter {
  constructor(private readonly list: Reporter[]) {}
  event(ev: RunEvent): void {
    for (const r of this.list) r.event(ev);
  }
  async close(): Promise<void> {
    for (const r of this.list) await r.close();
  }
}
