// `adc-cutover directory census|rekey|encrypt|decrypt|restore`: the vendor tool's three jobs and
// more, against the directory directly. Thin: parse flags, connect, call the engine, print.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { census, connect, type CensusResult, type DirectoryClient } from '../directory/index.js';
import { EXIT, InputError, errorMessage } from '../errors.js';
import { Keyring, type OtpKeyMaterial } from '../otp/index.js';
import { runRekey, runRestore, type RekeyJob, type RunProgress, type RunSummary } from '../rekey/index.js';
import { confirm, isInteractive, secretFromEnv } from './input.js';
import { keyArgsOf, keyOptions, loadKeyArgs } from './key-options.js';

type SetCode = (code: number) => void;

interface ConnArgs {
  url?: string;
  'bind-dn'?: string;
  'password-env'?: string;
  ca?: string;
  'start-tls'?: boolean;
  base?: string;
  filter?: string;
  attribute?: string;
  'page-size'?: number;
  timeout?: number;
  json?: boolean;
}

function connOptions<T>(y: Argv<T>) {
  return y
    .option('url', { type: 'string', describe: 'directory URL: ldaps://host:636 or ldap://host:389', group: 'Directory:' })
    .option('bind-dn', { type: 'string', describe: 'service account DN (the ADC\'s LDAP bind DN)', group: 'Directory:' })
    .option('password-env', { type: 'string', describe: 'environment variable holding the bind password', group: 'Directory:' })
    .option('ca', { type: 'string', describe: 'PEM file of the CA that signed the directory\'s certificate', group: 'Directory:' })
    .option('start-tls', { type: 'boolean', default: false, describe: 'StartTLS on an ldap:// URL', group: 'Directory:' })
    .option('base', { type: 'string', describe: 'search base', group: 'Directory:' })
    .option('filter', { type: 'string', default: '(objectClass=user)', describe: 'search filter (the attribute\'s presence is added)', group: 'Directory:' })
    // No yargs default: restore must fall back to the attribute its backup names, not to this one.
    .option('attribute', { type: 'string', describe: 'the OTP attribute (-OTPSecret); default userParameters, for restore the one the backup names', group: 'Directory:' })
    .option('page-size', { type: 'number', default: 500, describe: 'paged search page size', group: 'Directory:' })
    .option('timeout', { type: 'number', default: 30, describe: 'seconds per LDAP operation', group: 'Directory:' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

function writeOptions<T>(y: Argv<T>) {
  return y
    .option('concurrency', { type: 'number', default: 8, describe: 'writer connections' })
    .option('rate', { type: 'number', describe: 'at most this many entries per second' })
    .option('max-failures', { type: 'number', describe: 'stop once more entries than this failed' })
    .option('max-failure-ratio', { type: 'number', describe: 'stop once more than this share (0-1) of entries failed' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read and decide, write nothing' })
    .option('backup', { type: 'string', describe: 'backup file to create (default .adc-cutover/backups/<job>-<time>.jsonl)' })
    .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation' });
}

type Args = ConnArgs & Record<string, unknown>;

/** yargs' types do not survive keyOptions(); the options themselves are declared above. */
function args(parsed: unknown): Args {
  return parsed as Args;
}

function need(v: string | undefined, flag: string): string {
  if (!v) throw new InputError(`--${flag} is required`);
  return v;
}

function connector(a: ConnArgs, dryRun = false): () => Promise<DirectoryClient> {
  const url = need(a.url, 'url');
  const bindDN = need(a['bind-dn'], 'bind-dn');
  const password = secretFromEnv(need(a['password-env'], 'password-env'), 'bind password')!;
  let caPem: string | undefined;
  if (a.ca) {
    try {
      caPem = readFileSync(a.ca, 'utf8');
    } catch (err) {
      throw new InputError(`--ca ${a.ca}: ${errorMessage(err)}`);
    }
  }
  const timeoutMs = Math.max(1, a.timeout ?? 30) * 1000;
  return () => connect({ url, bindDN, password, caPem, startTls: a['start-tls'], timeoutMs, dryRun });
}

function scope(a: ConnArgs) {
  return { base: need(a.base, 'base'), filter: a.filter, attribute: a.attribute ?? 'userParameters', pageSize: a['page-size'] };
}

export function registerDirectory(cli: Argv, setCode: SetCode): void {
  cli.command('directory', 'the directory jobs: census, rekey, encrypt, decrypt, restore', (y) =>
    y
      .command('census', 'count values per KID, legacy, unreadable, empty, multi-valued (reads only)', (a) =>
        keyOptions(connOptions(a), '', false).option('extra-attribute', { type: 'string', array: true, describe: 'other attributes to count (KBA, alternate e-mail)' }),
        async (parsed) => {
          const argv = args(parsed);
          const km = argv['cert'] ? await loadKeyArgs({ ...keyArgsOf(argv), allowExpired: true }, 'certificate') : undefined;
          const c = await connector(argv)();
          try {
            const r = await census(c, {
              ...scope(argv), extraAttributes: argv['extra-attribute'] as string[] | undefined,
              ...(km ? { keyring: new Keyring([km]), kidLabels: { [km.kidText]: km.subject } } : {}),
            });
            printCensus(r, argv.json);
            setCode(r.multiValued.entries > 0 || r.unreadable.entries > 0 ? EXIT.failedRolledBack : EXIT.ok);
          } finally {
            await c.close();
          }
        })
      .command('rekey', 're-encrypt every device from the old certificate to the new one', (a) =>
        writeOptions(keyOptions(keyOptions(connOptions(a), 'from'), 'to')).option('include-legacy', { type: 'boolean', default: false, describe: 'also encrypt legacy plaintext values' }),
        async (parsed) => {
          const argv = args(parsed);
          const from = await loadKeyArgs({ ...keyArgsOf(argv, 'from'), allowExpired: true }, 'from-certificate');
          const to = await loadKeyArgs(keyArgsOf(argv, 'to'), 'to-certificate');
          if (from.kidText === to.kidText) throw new InputError('--from-cert and --to-cert are the same certificate');
          setCode(await write(argv, { kind: 'rekey', from: [from], to, includeLegacy: argv['include-legacy'] === true }));
        })
      .command('encrypt', 'legacy plaintext values → encrypted under this certificate', (a) => writeOptions(keyOptions(connOptions(a))),
        async (parsed) => {
          const argv = args(parsed);
          setCode(await write(argv, { kind: 'encrypt', to: await loadKeyArgs(keyArgsOf(argv), 'certificate') }));
        })
      .command('decrypt', 'encrypted values → legacy plaintext (secrets readable in the directory)', (a) => writeOptions(keyOptions(connOptions(a))),
        async (parsed) => {
          const argv = args(parsed);
          const km = await loadKeyArgs({ ...keyArgsOf(argv), allowExpired: true }, 'certificate');
          if (argv['dry-run'] !== true && argv['yes'] !== true) {
            if (!isInteractive()) throw new InputError('decrypt writes every OTP secret to the directory in plaintext: refusing without --yes in a non-interactive run');
            if (!(await confirm('Write every OTP secret to the directory in plaintext?'))) throw new InputError('not confirmed; nothing changed');
          }
          setCode(await write(argv, { kind: 'decrypt', from: [km] }));
        })
      .command('restore <backup-file>', 'put back the originals from a backup where the value is still what the run wrote', (a) =>
        keyOptions(keyOptions(connOptions(a).positional('backup-file', { type: 'string', demandOption: true }), ''), 'new', false)
          .option('reencrypt-changed', { type: 'boolean', default: false, describe: 'entries changed since the run: re-encrypt their devices under --cert (needs --new-cert)' })
          .option('concurrency', { type: 'number', default: 8 })
          .option('dry-run', { type: 'boolean', default: false }),
        async (parsed) => {
          const argv = args(parsed);
          const old = await loadKeyArgs({ ...keyArgsOf(argv), allowExpired: true }, 'certificate');
          const keys: OtpKeyMaterial[] = [old];
          if (argv['new-cert']) keys.push(await loadKeyArgs({ ...keyArgsOf(argv, 'new'), allowExpired: true }, 'new-certificate'));
          if (argv['reencrypt-changed'] && keys.length < 2) throw new InputError('--reencrypt-changed needs --new-cert to read the devices registered since the run');
          const s = await runRestore({
            connect: connector(argv, argv['dry-run'] === true), backupFile: argv['backup-file'] as string, keys,
            concurrency: argv['concurrency'] as number | undefined,
            attribute: argv.attribute, ...(argv['reencrypt-changed'] ? { reencryptChangedUnder: old } : {}),
            signal: interrupt(), onProgress: progressPrinter(argv.json),
          });
          printSummary(s, argv.json, s.changedSince.length ? `changed since the run (not put back${argv['reencrypt-changed'] ? '; devices re-encrypted under the old certificate' : ''}):\n${s.changedSince.map((d) => `  ${d}`).join('\n')}` : undefined);
          setCode(exitOf(s));
        })
      .demandCommand(1, 'Name a directory command: census, rekey, encrypt, decrypt or restore.'),
  );
}

async function write(argv: Args, job: RekeyJob): Promise<number> {
  const dryRun = argv['dry-run'] === true;
  const backupFile = dryRun ? undefined : (argv['backup'] as string | undefined) ?? defaultBackup(job.kind);
  const s = await runRekey({
    connect: connector(argv, dryRun), ...scope(argv), job, backupFile,
    concurrency: argv['concurrency'] as number | undefined, rate: argv['rate'] as number | undefined,
    maxFailures: argv['max-failures'] as number | undefined, maxFailureRatio: argv['max-failure-ratio'] as number | undefined,
    signal: interrupt(), onProgress: progressPrinter(argv.json),
  });
  printSummary(s, argv.json);
  return exitOf(s);
}

function defaultBackup(job: string): string {
  const dir = join('.adc-cutover', 'backups');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${job}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
}

/** Ctrl-C: finish in-flight writes, then stop; a second Ctrl-C is Node's default (exit now). */
function interrupt(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nstopping: finishing in-flight writes (Ctrl-C again to exit now)\n');
    ac.abort();
  });
  return ac.signal;
}

function progressPrinter(json: boolean | undefined): ((p: RunProgress) => void) | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  return (p) => {
    const eta = p.etaSec !== undefined ? `, ${Math.ceil(p.etaSec)} s left` : '';
    process.stderr.write(`\r${p.done}${p.total !== undefined ? `/${p.total}` : ''} entries, ${p.rate.toFixed(0)}/s, ${p.changed} changed, ${p.failed} failed${eta}   `);
  };
}

function exitOf(s: RunSummary): number {
  if (s.stopped?.reason === 'aborted') return EXIT.interrupted;
  return s.failed.length > 0 || s.stopped ? EXIT.failedRolledBack : EXIT.ok;
}

function printSummary(s: RunSummary, json: boolean | undefined, extra?: string): void {
  if (process.stderr.isTTY && !json) process.stderr.write('\n');
  if (json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const rows: [string, string | number][] = [
    ['job', `${s.job}${s.dryRun ? ' (dry run: nothing written)' : ''}`],
    ['fetched', s.fetched],
    [s.dryRun ? 'would change' : 'changed', s.changed],
    ['unchanged', s.unchanged],
    ...Object.entries(s.skipped).map(([r, n]): [string, number] => [`skipped: ${r}`, n]),
    ['failed', s.failed.length],
    ...Object.entries(s.devices).map(([a, n]): [string, number] => [`devices ${a}`, n ?? 0]),
    ['retried (changed meanwhile)', s.retried],
    ...(s.backupFile ? [['backup', s.backupFile] as [string, string]] : []),
    ['seconds', (s.durationMs / 1000).toFixed(1)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  for (const f of s.failed.slice(0, 50)) lines.push(`FAILED ${f.dn}: ${f.reason}`);
  if (s.failed.length > 50) lines.push(`… and ${s.failed.length - 50} more (use --json for all)`);
  if (s.stopped) lines.push(`STOPPED (${s.stopped.reason}): ${s.stopped.message}`);
  if (extra) lines.push(extra);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printCensus(r: CensusResult, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  const lines = [
    `census of ${r.attribute} under ${r.base} ${r.filter}`,
    `entries          ${r.entries}`,
    `with a value     ${r.withValue}`,
    `empty            ${r.empty}`,
    `legacy           ${r.legacy.entries} entries, ${r.legacy.devices} devices`,
    `encrypted        ${r.encrypted.entries} entries, ${r.encrypted.devices} devices`,
    ...r.byKid.map((k) => `  KID ${k.kid}  ${k.devices} devices in ${k.entries} entries${k.label ? `  (${k.label})` : ''}${k.held ? '' : '  [certificate not given]'}`),
    `unreadable       ${r.unreadable.entries} entries, ${r.unreadable.devices} devices`,
    ...r.unreadable.examples.map((e) => `  ${e.dn}: ${e.reason}`),
    `multi-valued     ${r.multiValued.entries}`,
    ...r.multiValued.examples.map((e) => `  ${e.dn}: ${e.reason}`),
    ...r.extraAttributes.map((x) => `${x.attribute}: ${x.entries} entries hold a value; ${x.note}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
