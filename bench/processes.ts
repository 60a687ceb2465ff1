// Child processes for the benchmark: run one to its end with its wall time and peak RSS, and
// the taskset prefix that pins it to a CPU. Peak RSS comes from /proc/<pid>/status VmHWM (the
// kernel's high-water mark), read every 50 ms while the child runs: it only grows, so the last
// reading is the peak up to a few milliseconds before exit.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Finished {
  secs: number;
  peakRssMb: number;
  /** User + system CPU seconds, as last read while it ran (within 50 ms of its end). */
  cpuSecs: number;
  stdout: string;
  stderr: string;
}

function hwmKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const TICKS_PER_SEC = 100;

/** User + system CPU seconds of a process so far (its threads included), from /proc/<pid>/stat. */
export function cpuSecsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** `taskset -c <cpu>` in front of a command when pinning, nothing otherwise. */
export function pinned(cpu: number | undefined, argv: string[]): string[] {
  return cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv];
}

export function runToEnd(argv: string[], opts: { env?: NodeJS.ProcessEnv; keepStdout?: boolean } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env: opts.env ?? process.env, stdio: ['ignore', opts.keepStdout ? 'pipe' : 'ignore', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    let peak = 0;
    let cpu = 0;
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      peak = Math.max(peak, hwmKb(child.pid) ?? 0);
      cpu = Math.max(cpu, cpuSecsOf(child.pid) ?? 0);
    }, 50);
    child.once('error', (err) => {
      clearInterval(poll);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(poll);
      // stdio may still be draining after 'exit'; 'close' has all of it.
      child.once('close', () => {
        if (code !== 0) reject(new Error(`${argv.join(' ').slice(0, 200)}: exit ${code ?? signal}\n${stderr.trim()}`));
        else resolve({ secs, peakRssMb: peak / 1024, cpuSecs: cpu, stdout, stderr });
      });
    });
  });
}

/** Sets the CPU affinity of every thread of a running process (slapd's threads are already up). */
export async function pinPid(pid: number, cpu: number): Promise<void> {
  await runToEnd(['taskset', '-a', '-p', '-c', String(cpu), String(pid)]);
}
