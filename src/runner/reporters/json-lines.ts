// --json: one JSON object per event on stdout, for CI jobs and log shippers.
import type { Reporter, RunEvent } from '../events.js';
import { redactValue } from '../redact.js';

export class JsonLinesReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  event(ev: RunEvent): void {
    this.out.write(JSON.stringify(redactValue({ t: new Date().toISOString(), ...ev })) + '\n');
  }
  async close(): Promise<void> {}
}
