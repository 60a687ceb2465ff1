// The host's lock on an estate: one live run, resume or rollback per estate on this machine,
// whatever directory it was started from. Keyed by what the estate is (its appliances and its
// directory, see src/cutover/estate-lock.ts), not by a file name, and kept in one directory
// every runner on the host sees. The appliances carry a lock of their own for runners on other
// hosts; this one also holds when an appliance cannot be reached.
import { lstatSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.js';

export interface RunLock {
  release(): void;
}

/** Who holds a lock: written into the lock, shown to whoever is refused. */
export interface LockHolder {
  runId: string;
  host: string;
  pid: number;
  user: string;
  /** When the lock was taken (ISO time). */
  time: string;
}

export interface EstateId {
  /** A hash of the appliances' node URLs and the directory: the same estate, the same key. */
  key: string;
  /** What the estate is, in words, for messages. */
  label: string;
}

/**
 * `$ADC_CUTOVER_LOCK_DIR`, else `<tmpdir>/adc-cutover-locks`: the state home is per working
 * directory, so a lock kept there let two checkouts of the same inventory run at once. The temp
 * directory is the one place every user and every checkout on the host shares.
 */
export function lockDir(): string {
  return process.env['ADC_CUTOVER_LOCK_DIR'] ?? join(tmpdir(), 'adc-cutover-locks');
}

export function holderOf(runId: string): LockHolder {
  return { runId, host: hostname(), pid: process.pid, user: userName(), time: new Date().toISOString() };
}

/**
 * Take the host's lock on `estate` for `runId`. A holder whose process is gone (killed) is taken
 * over: on this host a dead pid is certain, and the appliances' own lock decides whether another
 * run's unfinished work stands in the way. A live holder refuses, whatever the run.
 */
export function acquireLocalLock(estate: EstateId, runId: string): RunLock {
  const dir = sharedDir();
  const file = join(dir, `${estate.key}.lock`);
  const me = holderOf(runId);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // Readable by all: another user's run must be able to say who holds the estate.
      writeFileSync(file, JSON.stringify({ ...me, estate: estate.label }), { flag: 'wx', mode: 0o644 });
      chmodSync(file, 0o644); // whatever the umask took off
      return {
        release: () => {
          // Only our own: a lock someone broke and took since is theirs now.
          if (readHolder(file)?.pid === me.pid && readHolder(file)?.runId === runId) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new InputError(`cannot write the run lock ${file} (${code ?? String(err)}): nothing was changed`, { cause: err });
      const holder = readHolder(file);
      if (holder && (holder.host !== me.host || isAlive(holder.pid))) {
        const where = holder.host === me.host ? `pid ${holder.pid}` : `pid ${holder.pid} on ${holder.host} (a shared lock directory: it cannot be checked from here)`;
        throw new InputError(`${estate.label}: run ${holder.runId} (${where}, user ${holder.user}, since ${holder.time}) is working on this estate; wait for it or stop it first. Lock: ${file}`);
      }
      // A dead holder, or a file too torn to name one (a crash while writing it).
      try {
        rmSync(file, { force: true });
      } catch (rmErr) {
        throw new InputError(`${estate.label}: the lock ${file} of a run that is gone cannot be removed (${(rmErr as NodeJS.ErrnoException).code ?? String(rmErr)}): remove it by hand`, {
          cause: rmErr,
        });
      }
    }
  }
  throw new InputError(`${estate.label}: could not take the run lock ${file}: another run took it at the same moment`);
}

/**
 * The lock directory, created world-writable with the sticky bit (as /tmp itself) so that every
 * user's runs can lock in it and none can remove another's lock. A symlink or a file in its
 * place is refused: it could point the locks anywhere.
 */
function sharedDir(): string {
  const dir = lockDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o1777 });
  } catch (err) {
    throw new InputError(`cannot create the lock directory ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}): nothing was changed (ADC_CUTOVER_LOCK_DIR chooses another)`, { cause: err });
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new InputError(`the lock directory ${dir} is not a directory (a symlink or a file): nothing was changed; remove it, or choose another with ADC_CUTOVER_LOCK_DIR`);
  const mine = typeof process.getuid === 'function' && st.uid === process.getuid();
  // The umask took bits off at creation: put them back, once, as its owner.
  if (mine && (st.mode & 0o7777) !== 0o1777 && !process.env['ADC_CUTOVER_LOCK_DIR']) chmodSync(dir, 0o1777);
  return dir;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.runId === 'string'
      ? { runId: h.runId, pid: h.pid, host: String(h.host ?? hostname()), user: String(h.user ?? '?'), time: String(h.time ?? '?') }
      : undefined;
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

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}
