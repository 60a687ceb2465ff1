// The TOTP steps gateways have accepted for the canary, kept on disk: two runs (or a run and its
// resume) within one 30-second step would otherwise send a code the gateway already accepted,
// and a gateway with replay protection refuses it. Holds step numbers only, never a code.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AcceptedSteps } from '../gateway/index.js';
import { stateHome } from '../runner/run-dir.js';

export class FileAcceptedSteps implements AcceptedSteps {
  private readonly file = join(stateHome(), 'gateway-accepted-steps.json');

  get(key: string): number | undefined {
    return this.read()[key];
  }

  set(key: string, step: number): void {
    const all = this.read();
    all[key] = Math.max(step, all[key] ?? 0);
    mkdirSync(stateHome(), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private read(): Record<string, number> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number>;
    } catch {
      return {};
    }
  }
}
