// Background processes of the lab: free ports, liveness by pid, stopping by pid. Shared by the
// slapd launcher and the lab lifecycle so that `lab down` (a different process from `lab up`)
// stops things the same way the tests do.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port the kernel just handed out on 127.0.0.1. Racy by nature: callers retry on EADDRINUSE. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * True while the process exists and is not a zombie. A container's PID 1 may never reap an
 * orphan, so `kill -0` alone would report a stopped slapd as alive forever.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface StopOptions {
  /** A pid file the process should have removed on exit; removed here if a crash left it. */
  pidFile?: string;
  timeoutMs?: number;
}

/**
 * SIGTERM, then wait until the process is gone (a zombie counts as gone: its sockets are closed);
 * SIGKILL if it does not go in time. Returns how it ended.
 */
export async function stopPid(pid: number, opts: StopOptions = {}): Promise<'not-running' | 'terminated' | 'killed'> {
  let outcome: 'not-running' | 'terminated' | 'killed' = 'not-running';
  if (isRunning(pid)) {
    outcome = 'terminated';
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    while (isRunning(pid) && Date.now() < deadline) await sleep(20);
    if (isRunning(pid)) {
      outcome = 'killed';
      signal(pid, 'SIGKILL');
      while (isRunning(pid)) await sleep(20);
    }
  }
  if (opts.pidFile && existsSync(opts.pidFile) && pidInFile(opts.pidFile) === pid) rmSync(opts.pidFile, { force: true });
  return outcome;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Went away between the check and the signal: that is what we wanted.
  }
}

export function pidInFile(pidFile: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
