// The whole command as an operator runs it: a new `adc-cutover directory rekey` process (Node
// start-up, module loading, key loading, connect, scan, re-encrypt, backup, write, read back,
// summary), timed from spawn to exit, its peak RSS read from the kernel. `adc-cutover otptool
// -operation 2` (the vendor tool's command line on the same engine, with its per-user app.log) is
// spawned and timed the same way.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningSlapd } from '../src/lab/slapd.js';
import type { RunSummary } from '../src/rekey/index.js';
import { PASSWORD_ENV as OTPTOOL_PASSWORD_ENV } from '../src/otptool/args.js';
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

/**
 * Spawns the CLI with `args` (pinned when asked; BENCH_NODE_ARGS: flags for the command's Node
 * only, as --cpu-prof is refused in NODE_OPTIONS), the bind password in the environment variable
 * `passwordEnv` (never on the command line), and removes `files` afterwards: a benchmark's backup
 * and log are a few hundred MB at a million users, not kept.
 */
async function spawnCli(
  args: string[],
  o: { cpu: number | undefined; passwordEnv: string; password: string; files: string[] },
): Promise<{ secs: number; peakRssMb: number; clientCpu: number; stdout: string }> {
  const argv = pinned(o.cpu, [process.execPath, ...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), CLI_MAIN, ...args]);
  try {
    const r = await runToEnd(argv, { env: { ...process.env, [o.passwordEnv]: o.password }, keepStdout: true });
    return { secs: r.secs, peakRssMb: r.peakRssMb, clientCpu: r.cpuSecs, stdout: r.stdout };
  } finally {
    for (const f of o.files) rmSync(f, { force: true });
  }
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
  const r = await spawnCli(
    [
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
    ],
    { cpu: o.cpu, passwordEnv: PASSWORD_ENV, password: slapd.servicePassword, files: [o.backup] },
  );
  return { secs: r.secs, peakRssMb: r.peakRssMb, clientCpu: r.clientCpu, summary: JSON.parse(r.stdout) as RunSummary };
}

/** otptool's counts, read from the summary it prints for operators (it has no JSON output). */
export interface OtptoolCounts {
  fetched: number;
  modified: number;
  notModified: number;
}

export interface OtptoolRun {
  secs: number;
  peakRssMb: number;
  clientCpu: number;
  counts: OtptoolCounts;
}

/** Reads "Fetched N users", "Modified N users", "Not modified N users"; throws on FAILED, STOPPED or a dry run. */
export function otptoolCounts(stdout: string): OtptoolCounts {
  const count = (label: string) => {
    const m = new RegExp(`^${label} (\\d+) users?:?$`, 'm').exec(stdout);
    if (!m) throw new Error(`otptool printed no "${label} N users" line:\n${stdout.slice(0, 2000)}`);
    return Number(m[1]);
  };
  if (/^(FAILED|STOPPED)|DRY RUN/m.test(stdout)) throw new Error(`otptool reported failures:\n${stdout.slice(0, 2000)}`);
  return { fetched: count('Fetched'), modified: count('Modified'), notModified: count('Not modified') };
}

/**
 * `adc-cutover otptool -operation 2` as an operator types it, moving the values from -cert_path
 * to -new_cert_path. Plain LDAP like the rekey command (the lab's slapd; otptool warns on
 * stderr); the backup and app.log go to the files given, not to the current directory. otptool
 * has -concurrency but no page size, group or crypto-worker option: it runs with the engine's
 * defaults for those.
 */
export async function runOtptool(slapd: RunningSlapd, o: { from: string; to: string; backup: string; log: string; concurrency: number; cpu: number | undefined }): Promise<OtptoolRun> {
  const r = await spawnCli(
    [
      'otptool',
      '-Host',
      slapd.url,
      '-username',
      slapd.serviceDN,
      '-search_base',
      slapd.usersDN,
      '-source_attribute',
      ATTRIBUTE,
      '-operation',
      '2',
      '-cert_path',
      o.from,
      '-new_cert_path',
      o.to,
      '-concurrency',
      String(o.concurrency),
      '-backup',
      o.backup,
      '-log',
      o.log,
    ],
    { cpu: o.cpu, passwordEnv: OTPTOOL_PASSWORD_ENV, password: slapd.servicePassword, files: [o.backup, o.log] },
  );
  return { secs: r.secs, peakRssMb: r.peakRssMb, clientCpu: r.clientCpu, counts: otptoolCounts(r.stdout) };
}
