// One live run per inventory: a lock file holding the owner's pid. A lock whose pid is gone is
// stale (the process was killed) and is taken over; the journal says how to resume.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { stateHome } from './run-dir.js';

export interface RunLock {
  release(): void;
}

export function acquireLock(inventoryPath: string, runId: string): RunLock {
  const dir = join(stateHome(), 'locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, createHash('sha256').update(inventoryPath).digest('hex').slice(0, 16) + '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, runId, inventory: inventoryPath }), { flag: 'wx', mode: 0o600 });
      return { release: () => rmSync(file, { force: true }) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new InputError(`cannot write the run lock ${file} (${code ?? String(err)}): nothing was changed`, { cause: err });
      const holder = readHolder(file);
      if (holder && isAlive(holder.pid)) {
        throw new InputError(`${inventoryPath}: run ${holder.runId} (pid ${holder.pid}) is still running on this inventory; wait for it or stop it first`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new InputError(`${inventoryPath}: could not take the run lock ${file}`);
}

function readHolder(file: string): { pid: number; runId: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { pid: number; runId: string };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
