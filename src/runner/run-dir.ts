// Where runs live: .adc-cutover/runs/<run-id>/ under the working directory (or ADC_CUTOVER_HOME).
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { stateHome } from '../state-home.js';

export function runsRoot(): string {
  return join(stateHome(), 'runs');
}

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * The run's directory, created before anything is changed: a state home that cannot be written
 * (read-only, wrong owner, not a directory) is bad input, refused with its path, never a stack
 * trace after the first write.
 */
export function createRunDir(runId: string): string {
  const dir = join(runsRoot(), runId);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw unwritable(dir, err);
  }
  return dir;
}

/** A run directory made for a run that was then refused before its journal started: leave no trace. */
export function discardRunDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (the journal started) or already gone: either way it is not ours to remove.
  }
}

/** Resume and rollback journal into an existing run directory: refuse up front if they cannot. */
export function assertRunDirWritable(dir: string): void {
  try {
    accessSync(dir, constants.W_OK);
    accessSync(journalPath(dir), constants.W_OK);
  } catch (err) {
    throw unwritable(dir, err);
  }
}

function unwritable(dir: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  // mkdir on a read-only file system answers ENOENT for the part it cannot create; say what it means.
  const why = code === 'EROFS' || code === 'ENOENT' ? 'read-only or missing' : code === 'EACCES' || code === 'EPERM' ? 'not writable by this user' : code;
  return new InputError(
    `cannot write the run directory ${dir} (${why === code ? code : `${why}; ${code}`}): the state home ${stateHome()} must be writable (or set ADC_CUTOVER_HOME); nothing was changed`,
    { cause: err },
  );
}

export function findRunDir(runId: string): string {
  if (!/^[0-9TZ]+-[0-9a-f]{6}$/.test(runId)) throw new InputError(`"${runId}" is not a run id (see 'adc-cutover runs')`);
  const dir = join(runsRoot(), runId);
  if (!existsSync(join(dir, 'events.jsonl'))) throw new InputError(`no run ${runId} under ${runsRoot()} (see 'adc-cutover runs')`);
  return dir;
}

export function listRunIds(): string[] {
  if (!existsSync(runsRoot())) return [];
  return readdirSync(runsRoot())
    .filter((d) => existsSync(join(runsRoot(), d, 'events.jsonl')))
    .sort();
}

export const journalPath = (dir: string) => join(dir, 'events.jsonl');
export const reportPath = (dir: string) => join(dir, 'report.json');
