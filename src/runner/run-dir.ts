// Where runs live: .adc-cutover/runs/<run-id>/ under the working directory (or ADC_CUTOVER_HOME).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.js';

export function stateHome(): string {
  return resolve(process.env['ADC_CUTOVER_HOME'] ?? '.adc-cutover');
}

export function runsRoot(): string {
  return join(stateHome(), 'runs');
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function createRunDir(runId: string): string {
  const dir = join(runsRoot(), runId);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    // Before the first change (and before the appliances are locked): nothing to undo.
    throw new InputError(`cannot create the run directory ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}): nothing was changed`, { cause: err });
  }
  return dir;
}

export function findRunDir(runId: string): string {
  if (!/^[0-9TZ]+-[0-9a-f]{6}$/.test(runId)) throw new InputError(`"${runId}" is not a run id (see 'adc-cutover runs')`);
  const dir = join(runsRoot(), runId);
  if (!existsSync(join(dir, 'events.jsonl'))) throw new InputError(`no run ${runId} under ${runsRoot()} (see 'adc-cutover runs')`);
  return dir;
}

export function listRunIds(): string[] {
  if (!existsSync(runsRoot())) return [];
  return readdirSync(runsRoot()).filter((d) => existsSync(join(runsRoot(), d, 'events.jsonl'))).sort();
}

export const journalPath = (dir: string) => join(dir, 'events.jsonl');
export const reportPath = (dir: string) => join(dir, 'report.json');
