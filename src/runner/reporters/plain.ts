// Timestamped lines for logs and pipes: one line per thing that happened, progress throttled.
import type { Reporter, RunEvent } from '../events.js';
import { redact } from '../redact.js';

export class PlainReporter implements Reporter {
  private lastProgress = 0;
  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}

  event(ev: RunEvent): void {
    const line = describe(ev);
    if (ev.type === 'progress') {
      if (Date.now() - this.lastProgress < 2000 && ev.done !== ev.total) return;
      this.lastProgress = Date.now();
    }
    if (line) this.out.write(`${(ev.t ?? new Date().toISOString()).slice(11, 19)} ${redact(line)}\n`);
  }

  async close(): Promise<void> {}
}

export function describe(ev: RunEvent): string | undefined {
  switch (ev.type) {
    case 'run':
      return `run ${ev.runId}${ev.dryRun ? ' (dry run: no writes)' : ''}: ${ev.playbook} on ${ev.inventory}${ev.attempt > 1 ? ` — resumed (attempt ${ev.attempt})` : ''}`;
    case 'step-start':
      return `▶ ${ev.title}`;
    case 'target':
      return `  ${ev.status === 'ok' ? '✔' : ev.status === 'skipped' ? '–' : '✖'} ${ev.target}: ${ev.message}`;
    case 'note':
      return `  ${ev.level === 'warn' ? '⚠' : 'ℹ'} ${ev.target}: ${ev.message}`;
    case 'progress':
      return `  … ${ev.target}: ${ev.done}/${ev.total}${ev.rate ? ` (${Math.round(ev.rate)}/s${ev.etaSec !== undefined ? `, ${Math.ceil(ev.etaSec)} s left` : ''})` : ''}${ev.detail ? ` ${ev.detail}` : ''}`;
    case 'step-end':
      return ev.status === 'failed' ? `✖ ${ev.step} failed: ${ev.error ?? ''}` : `✔ ${ev.step} ${ev.status} (${(ev.durationMs / 1000).toFixed(1)} s)`;
    case 'rollback-start':
      return `↩ rolling back: ${ev.reason}`;
    case 'undo':
      return `  ↩ ${ev.step} on ${ev.target}: ${ev.status} — ${ev.message}`;
    case 'rollback-end':
      return `↩ rollback ${ev.status}`;
    case 'invariant':
      return `${ev.holds ? '✔' : '✖'} ${ev.holds ? 'every user can log on' : 'users locked out'}: ${ev.message}`;
    case 'run-end':
      return `${ev.status === 'succeeded' ? '✔' : '✖'} run ${ev.status} (exit ${ev.exitCode})${ev.message ? `: ${ev.message}` : ''}`;
    default:
      return undefined;
  }
}
