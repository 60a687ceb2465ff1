// The benchmark's command line. Defaults match the command as an operator runs it: the CLI's
// own default writer count (DEFAULT_CONCURRENCY, 8) and page size (500), the engine's default group (50).
import { DEFAULT_CONCURRENCY } from '../src/rekey/defaults.js';
import { LDIF_SEED_FROM, type SeedMethod } from './seed.js';

export interface BenchOptions {
  users: number;
  /** Writer connections for the engine, and as many ldapmodify processes / ceiling connections. */
  concurrency: number;
  groupSize: number;
  pageSize: number;
  /** Timed rounds; each figure is the median of its runs. */
  runs: number;
  /** slapd on CPU 0, everything else (command, ldapmodify, this process) on CPU 1. */
  pin: boolean;
  /** Also time the engine inside this process against the ldapts ceiling (the older figure). */
  inProcess: boolean;
  /** Also time `adc-cutover otptool -operation 2` against its own ldapmodify ceiling (on unless --no-otptool). */
  otptool: boolean;
  /** Worker threads for the command's crypto (0 = none, the default). */
  cryptoWorkers: number;
  onEntry: boolean;
  /** How the users get into slapd (untimed): LDAP adds, or LDIF loaded offline by slapadd. */
  seed: SeedMethod;
}

/** otptool's -concurrency is 1 to 64 (src/otptool/args.ts). */
const OTPTOOL_MAX_CONCURRENCY = 64;

const USAGE =
  'npm run bench:rekey -- [--users N] [--concurrency N] [--group N] [--page-size N] [--runs N] [--pin] [--no-in-process] [--no-otptool] [--crypto-workers N] [--on-entry] [--seed ldif|ldap]';

function num(argv: string[], name: string, dflt: number, min = 1): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}\n${USAGE}`);
  return v;
}

function seedMethod(argv: string[], users: number): SeedMethod {
  const i = argv.indexOf('--seed');
  if (i < 0) return users >= LDIF_SEED_FROM ? 'ldif' : 'ldap';
  const v = argv[i + 1];
  if (v !== 'ldif' && v !== 'ldap') throw new Error(`--seed must be ldif or ldap\n${USAGE}`);
  return v;
}

export function parseOptions(argv: string[]): BenchOptions {
  const known = new Set(['--users', '--concurrency', '--group', '--page-size', '--runs', '--pin', '--no-in-process', '--no-otptool', '--crypto-workers', '--on-entry', '--seed']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a}\n${USAGE}`);
  const users = num(argv, 'users', 10_000);
  const concurrency = num(argv, 'concurrency', DEFAULT_CONCURRENCY);
  const otptool = !argv.includes('--no-otptool');
  if (otptool && concurrency > OTPTOOL_MAX_CONCURRENCY) throw new Error(`--concurrency ${concurrency}: otptool takes at most ${OTPTOOL_MAX_CONCURRENCY} writers (add --no-otptool)\n${USAGE}`);
  return {
    users,
    concurrency,
    groupSize: num(argv, 'group', 50),
    pageSize: num(argv, 'page-size', 500),
    // Medians are cheap at small sizes; a million users is one round unless asked.
    runs: num(argv, 'runs', users <= 20_000 ? 5 : users <= 100_000 ? 3 : 1),
    pin: argv.includes('--pin'),
    inProcess: !argv.includes('--no-in-process'),
    otptool,
    cryptoWorkers: num(argv, 'crypto-workers', 0, 0),
    onEntry: argv.includes('--on-entry'),
    seed: seedMethod(argv, users),
  };
}
