// Medians and the lines the benchmark prints. Every timed figure carries the load average at
// its start and end: on a shared machine a figure without the load beside it means little.
import { loadavg } from 'node:os';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

export interface Timed {
  secs: number;
  loadBefore: string;
  loadAfter: string;
}

export async function timed<T extends { secs: number }>(f: () => Promise<T>): Promise<T & { loadBefore: string; loadAfter: string }> {
  const loadBefore = load();
  const r = await f();
  return { ...r, loadBefore, loadAfter: load() };
}

export const rate = (users: number, secs: number): number => users / secs;

export function fmtRate(users: number, secs: number): string {
  return `${rate(users, secs).toFixed(0).padStart(6)} users/s (${secs.toFixed(2)} s)`;
}
