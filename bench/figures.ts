// Medians, timing and the lines the benchmark prints. Every timed figure carries the load
// average at its start and end, and the CPU seconds slapd and the client spent on it: on a
// shared machine wall time alone says little, CPU per user says where the time went.
import { loadavg } from 'node:os';
import { cpuSecsOf } from './processes.js';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export interface Phase {
  secs: number;
  /** CPU seconds of the client side (the command, the ldapmodify processes, or this process). */
  clientCpu: number;
  slapdCpu: number;
  loadBefore: string;
  loadAfter: string;
  peakRssMb?: number;
}

/** Times one phase; `f` reports its own wall and client CPU seconds, slapd's are read here. */
export async function phase(slapdPid: number, f: () => Promise<{ secs: number; clientCpu: number; peakRssMb?: number }>): Promise<Phase> {
  const loadBefore = load();
  const s0 = cpuSecsOf(slapdPid) ?? 0;
  const r = await f();
  return { ...r, slapdCpu: (cpuSecsOf(slapdPid) ?? 0) - s0, loadBefore, loadAfter: load() };
}

/** This process's CPU seconds for an in-process phase. */
export async function inProcess(f: () => Promise<void>): Promise<{ secs: number; clientCpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await f();
  const c = process.cpuUsage(c0);
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, clientCpu: (c.user + c.system) / 1e6 };
}

export function describe(users: number, p: Phase): string {
  const per10k = (s: number) => ((s * 10_000) / users).toFixed(2);
  return `${(users / p.secs).toFixed(0).padStart(6)} users/s (${p.secs.toFixed(2)} s; CPU s per 10k users: slapd ${per10k(p.slapdCpu)}, client ${per10k(p.clientCpu)}; load ${p.loadBefore} → ${p.loadAfter})`;
}
