// The directory's own limit for this job: the compare-and-swap modifies, as LDIF, applied by
// parallel `ldapmodify` processes (one per engine writer connection). ldapmodify is C, sends one
// modify at a time and waits for its result; nothing else runs. Any failed modify fails the run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSlapd } from '../src/lab/slapd.js';
import { pinned, runToEnd } from './processes.js';

export const LDAPMODIFY = '/usr/bin/ldapmodify';

/** The service account's password in a file (-y), so it never sits in a process list. */
export function passwordFile(dir: string, slapd: RunningSlapd): string {
  const f = join(dir, 'svc.pw');
  writeFileSync(f, slapd.servicePassword, { mode: 0o600 });
  return f;
}

/** Wall seconds from the first start to the last exit, and the processes' CPU seconds together. */
export async function ldapmodifyCeiling(slapd: RunningSlapd, files: string[], pwFile: string, cpu: number | undefined): Promise<{ secs: number; clientCpu: number }> {
  const t0 = process.hrtime.bigint();
  const runs = await Promise.all(files.map((f) => runToEnd(pinned(cpu, [LDAPMODIFY, '-x', '-H', slapd.url, '-D', slapd.serviceDN, '-y', pwFile, '-f', f]))));
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, clientCpu: runs.reduce((a, r) => a + r.cpuSecs, 0) };
}
