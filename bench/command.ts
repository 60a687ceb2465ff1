// The whole command as an operator runs it: a new `adc-cutover directory rekey` process (Node
// start-up, module loading, key loading, connect, scan, re-encrypt, backup, write, read back,
// summary), timed from spawn to exit, its peak RSS read from the kernel.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningSlapd } from '../src/lab/slapd.js';
import type { RunSummary } from '../src/rekey/index.js';
import { pinned, runToEnd } from './processes.js';
import { ATTRIBUTE } from './seed.js';

export const CLI_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PASSWORD_ENV = 'BENCH_LDAP_PASSWORD';

export interface KeyFiles {
  /** Merged PEM: certificate and key in one file, mode 0600. */
  old: string;
  new: string;
}

export function writeKeyFiles(dir: string, pems: { old: { certPem: string; keyPem: string }; new: { certPem: string; keyPem: string } }): KeyFiles {
  const file = (name: string, p: { certPem: string; keyPem: string }) => {
    const f = join(dir, `${name}.pem`);
    writeFileSync(f, `${p.certPem.trim()}\n${p.keyPem.trim()}\n`, { mode: 0o600 });
    return f;
  };
  return { old: file('old', pems.old), new: file('new', pems.new) };
}

export interface CommandRun {
  secs: number;
  peakRssMb: number;
  clientCpu: number;
  summary: RunSummary;
}

/** The same command's start-up alone: `directory rekey --help` loads what a run loads before it connects. */
export async function startupSecs(cpu: number | undefined): Promise<number> {
  return (await runToEnd(pinned(cpu, [process.execPath, CLI_MAIN, 'directory', 'rekey', '--help']))).secs;
}

export async function runCommand(
  slapd: RunningSlapd,
  o: {
    from: string;
    to: string;
    backup: string;
    concurrency: number;
    pageSize: number;
    cryptoWorkers: number;
    cpu: number | undefined;
  },
): Promise<CommandRun> {
  const argv = pinned(o.cpu, [
    // BENCH_NODE_ARGS: flags for the command's Node only (--cpu-prof is refused in NODE_OPTIONS).
    process.execPath,
    ...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
    CLI_MAIN,
    'directory',
    'rekey',
    '--url',
    slapd.url,
    '--bind-dn',
    slapd.serviceDN,
    '--password-env',
    PASSWORD_ENV,
    '--base',
    slapd.usersDN,
    '--attribute',
    ATTRIBUTE,
    '--from-cert',
    o.from,
    '--to-cert',
    o.to,
    '--concurrency',
    String(o.concurrency),
    '--page-size',
    String(o.pageSize),
    ...(o.cryptoWorkers > 0 ? ['--crypto-workers', String(o.cryptoWorkers)] : []),
    '--backup',
    o.backup,
    '--yes',
    '--json',
  ]);
  try {
    const r = await runToEnd(argv, { env: { ...process.env, [PASSWORD_ENV]: slapd.servicePassword }, keepStdout: true });
    return { secs: r.secs, peakRssMb: r.peakRssMb, clientCpu: r.cpuSecs, summary: JSON.parse(r.stdout) as RunSummary };
  } finally {
    // A backup of a benchmark is a few hundred MB at a million users: not kept.
    rmSync(o.backup, { force: true });
  }
}
