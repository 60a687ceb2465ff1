// Benchmark (not a test): how long the CLI takes to start, as a shell sees it — wall time from
// spawning `node dist/src/cli/main.js …` to its exit. Each case runs --runs times (default 15);
// the cases take turns, so a burst of load from elsewhere on the machine falls on all of them
// rather than on one. Every run's exit code is checked, so a case measures what it says.
//   npm run bench:startup -- [--runs 15]
// The cases:
//   node alone        `node -e ""`: the floor this machine gives any Node process right now
//   --version, --help: answered without yargs (the help pre-rendered by the build from the
//                     yargs definitions; see src/cli/fast-path.ts)
//   plan --help       answered from the yargs definitions alone
//   directory census -i <missing>: the handler loads the directory implementation and the
//                     inventory parser, and stops at its first real work, reading the inventory
//                     (exit 2); so this is a command's start-up up to its handler's work
//   plan <missing>    the heaviest command: its handler loads the whole playbook layer, then
//                     fails to read the playbook file (exit 2)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

interface Case {
  name: string;
  args: string[];
  /** The exit code a correct run ends with. */
  exit: number;
}

const runs = arg('runs', 15);
const cases: Case[] = [
  { name: 'node alone', args: ['-e', ''], exit: 0 },
  { name: '--version', args: [CLI, '--version'], exit: 0 },
  { name: '--help', args: [CLI, '--help'], exit: 0 },
  { name: 'plan --help', args: [CLI, 'plan', '--help'], exit: 0 },
  { name: 'directory census -i <missing>', args: [CLI, 'directory', 'census', '-i', 'missing-inventory.yaml'], exit: 2 },
  { name: 'plan <missing playbook>', args: [CLI, 'plan', 'missing-playbook.yaml', '-i', 'missing-inventory.yaml'], exit: 2 },
];

function percentile(sorted: number[], p: number): number {
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

function main(): void {
  // An empty working directory and state home: no inventory, journal or lab of this checkout is read.
  const cwd = mkdtempSync(join(tmpdir(), 'adc-bench-startup-'));
  const env = { ...process.env, ADC_CUTOVER_HOME: join(cwd, 'state'), CI: 'true' };
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  try {
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(process.execPath, c.args, { cwd, env, encoding: 'utf8' });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== c.exit) {
          throw new Error(`${c.name}: exit ${String(r.status ?? r.signal)}, expected ${c.exit}\n${r.stderr}`);
        }
        times.get(c.name)!.push(ms);
      }
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  const width = Math.max(...cases.map((c) => c.name.length));
  const lines = [`wall ms over ${runs} runs each (node ${process.version})`, `${'case'.padEnd(width)}  median     p90`];
  for (const c of cases) {
    const sorted = [...times.get(c.name)!].sort((a, b) => a - b);
    lines.push(`${c.name.padEnd(width)}  ${percentile(sorted, 0.5).toFixed(0).padStart(6)}  ${percentile(sorted, 0.9).toFixed(0).padStart(6)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
