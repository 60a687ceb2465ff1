// `adc-cutover directory census|rekey|encrypt|decrypt|restore`: the vendor tool's three jobs and
// more, against the directory directly. Thin: parse flags (or take them from the inventory, as
// `run` does), connect, call the engine, print.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { census, connect, type CensusResult, type DirectoryClient } from '../directory/index.js';
import { EXIT, InputError, errorMessage } from '../errors.js';
import { Keyring, loadKeyMaterial, type OtpKeyMaterial } from '../otp/index.js';
import { loadInventory, type Inventory } from '../playbook/inventory.js';
import { resolveSecret } from '../playbook/secret-ref.js';
import { registerSecret } from '../runner/redact.js';
import { runRekey, runRestore, type RekeyJob, type RunProgress, type RunSummary } from '../rekey/index.js';
import { confirmWrite, secretFromEnv } from './input.js';
import { keyArgsOf, keyOptions, loadKeyArgs } from './key-options.js';

type SetCode = (code: number) => void;

interface ConnArgs {
  inventory?: string;
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

// No yargs defaults on what the inventory can give: yargs would count a default as given, and it
// would override the inventory. The defaults are applied in resolveConn, after the inventory.
function connOptions<T>(y: Argv<T>) {
  return y
    .option('inventory', { alias: 'i', type: 'string', describe: 'inventory YAML: the directory (URL, bind DN, password reference, CA, base, filter, attribute) and the certificates; the flags below override it', group: 'Directory:' })
    .option('url', { type: 'string', describe: 'directory URL: ldaps://host:636 or ldap://host:389', group: 'Directory:' })
    .option('bind-dn', { type: 'string', describe: 'service account DN (the ADC\'s LDAP bind DN)', group: 'Directory:' })
    .option('password-env', { type: 'string', describe: 'environment variable holding the bind password', group: 'Directory:' })
    .option('ca', { type: 'string', describe: 'PEM file of the CA that signed the directory\'s certificate', group: 'Directory:' })
    .option('start-tls', { type: 'boolean', describe: 'StartTLS on an ldap:// URL [default: false]', group: 'Directory:' })
    .option('base', { type: 'string', describe: 'search base', group: 'Directory:' })
    .option('filter', { type: 'string', describe: 'search filter (the attribute\'s presence is added) [default: (objectClass=user)]', group: 'Directory:' })
    .option('attribute', { type: 'string', describe: 'the OTP attribute (-OTPSecret); default userParameters, for restore the one the backup names', group: 'Directory:' })
    .option('page-size', { type: 'number', describe: 'paged search page size [default: 500]', group: 'Directory:' })
    .option('timeout', { type: 'number', default: 30, describe: 'seconds per LDAP operation', group: 'Directory:' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

function writeOptions<T>(y: Argv<T>) {
  return y
    .option('concurrency', { type: 'number', describe: 'writer connections [default: the inventory\'s, else 8]' })
    .option('rate', { type: 'number', describe: 'at most this many entries per second' })
    .option('crypto-workers', { type: 'number', describe: 'worker threads for re-encryption and the check before each write; pays only with a core to spare beyond this process and a local directory (README: Performance) [default: 0, none]' })
    .option('max-failures', { type: 'number', describe: 'stop once more entries than this failed' })
    .option('max-failure-ratio', { type: 'number', describe: 'stop once more than this share (0-1) of entries failed' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read and decide, write nothing' })
    .option('backup', { type: 'string', describe: 'backup file to create (default .adc-cutover/backups/<job>-<time>.jsonl)' })
    .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation (needed without a terminal)' });
}

type Args = ConnArgs & Record<string, unknown>;

/** yargs' types do not survive keyOptions(); the options themselves are declared above. */
function args(parsed: unknown): Args {
  return parsed as Args;
}

/** Where to connect and what to search: the flags, else the inventory, else the defaults. */
interface Conn {
  url: string;
  bindDN: string;
  password: string;
  caPem?: string;
  startTls: boolean;
  timeoutMs: number;
  base?: string;
  filter: string;
  /** The flag, else the inventory's; absent: userParameters. (restore takes only the flag, else the backup's.) */
  attribute?: string;
  pageSize: number;
  concurrency?: number;
  extraAttributes?: string[];
  inventory?: Inventory;
}

async function resolveConn(a: ConnArgs): Promise<Conn> {
  const inv = a.inventory ? await loadInventory(a.inventory) : undefined;
  const d = inv?.directory;
  const from = (flag: string) => `--${flag}${inv ? ` (or directory.${flag === 'bind-dn' ? 'bindDN' : flag} in ${inv.file})` : ' (or -i inventory)'}`;
  const url = a.url ?? d?.url;
  if (!url) throw new InputError(`${from('url')} is required`);
  const bindDN = a['bind-dn'] ?? d?.bindDN;
  if (!bindDN) throw new InputError(`${from('bind-dn')} is required`);
  let password: string | undefined;
  if (a['password-env'] !== undefined) password = secretFromEnv(a['password-env'], 'bind password');
  else if (d && inv) password = await resolveSecret(d.password, inv.baseDir);
  if (!password) throw new InputError('--password-env (or -i inventory with directory.password) is required');
  registerSecret(password);
  const caFile = a.ca ?? d?.ca;
  let caPem: string | undefined;
  if (caFile) {
    try {
      caPem = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new InputError(`${a.ca ? '--ca' : `${inv!.file} directory.ca`} ${caFile}: ${errorMessage(err)}`);
    }
  }
  return {
    url, bindDN, password, caPem, startTls: a['start-tls'] ?? d?.startTls ?? false,
    timeoutMs: Math.max(1, a.timeout ?? 30) * 1000,
    base: a.base ?? d?.base, filter: a.filter ?? d?.filter ?? '(objectClass=user)', attribute: a.attribute ?? d?.attribute,
    pageSize: a['page-size'] ?? d?.pageSize ?? 500, concurrency: d?.concurrency, extraAttributes: d?.extraAttributes,
    ...(inv ? { inventory: inv } : {}),
  };
}

function connector(c: Conn, dryRun = false): () => Promise<DirectoryClient> {
  return () => connect({ url: c.url, bindDN: c.bindDN, password: c.password, caPem: c.caPem, startTls: c.startTls, timeoutMs: c.timeoutMs, dryRun });
}

function scope(c: Conn) {
  if (!c.base) throw new InputError(`--base${c.inventory ? '' : ' (or -i inventory)'} is required`);
  return { base: c.base, filter: c.filter, attribute: c.attribute ?? 'userParameters', pageSize: c.pageSize };
}

/**
 * A certificate from its flags, else the inventory's `certificates.<which>` (its passphrase a
 * secret reference), else undefined.
 */
async function keyFrom(argv: Args, prefix: string, c: Conn, which: 'old' | 'new' | undefined, label: string, allowExpired: boolean): Promise<OtpKeyMaterial | undefined> {
  const flags = keyArgsOf(argv, prefix);
  if (flags.cert) return loadKeyArgs({ ...flags, allowExpired: allowExpired || flags.allowExpired }, label);
  return which ? inventoryKey(c, which, allowExpired || flags.allowExpired === true) : undefined;
}

async function inventoryKey(c: Conn, which: 'old' | 'new', allowExpired: boolean): Promise<OtpKeyMaterial | undefined> {
  const inv = c.inventory;
  if (!inv) return undefined;
  const spec = inv.certificates[which];
  const passphrase = spec.passphrase ? await resolveSecret(spec.passphrase, inv.baseDir) : undefined;
  registerSecret(passphrase);
  return loadKeyMaterial({ cert: spec.cert, key: spec.key, passphrase, allowExpired })
    .catch((err: Error) => { throw new InputError(`${inv.file} certificates.${which}: ${err.message}`); });
}

async function needKey(argv: Args, prefix: string, c: Conn, which: 'old' | 'new' | undefined, label: string, allowExpired: boolean): Promise<OtpKeyMaterial> {
  const km = await keyFrom(argv, prefix, c, which, label, allowExpired);
  const flag = `--${prefix ? `${prefix}-` : ''}cert`;
  if (!km) throw new InputError(`${flag} is required${which ? ` (or -i inventory: certificates.${which})` : ''}`);
  return km;
}

export function registerDirectory(cli: Argv, setCode: SetCode): void {
  cli.command('directory', 'the directory jobs: census, rekey, encrypt, decrypt, restore', (y) =>
    y
      .command('census', 'count values per KID, legacy, unreadable, empty, multi-valued (reads only)', (a) =>
        keyOptions(connOptions(a), '', false).option('extra-attribute', { type: 'string', array: true, describe: 'other attributes to count (KBA, alternate e-mail)' })
          .example('$0 directory census -i inventory.yaml', 'the directory and both certificates from the inventory')
          .example('$0 directory census --url ldaps://dc1.example.com --bind-dn "CN=svc-adc,OU=Service,DC=example,DC=com" --password-env LDAP_PW --ca ca.pem --base "DC=example,DC=com" --cert otp-old.pem', 'the same with flags'),
        async (parsed) => {
          const argv = args(parsed);
          const c = await resolveConn(argv);
          // With an inventory and no --cert, both certificates: devices under either are counted by name.
          const keys = argv['cert']
            ? [await needKey(argv, '', c, undefined, 'certificate', true)]
            : (await Promise.all((['old', 'new'] as const).map((w) => inventoryKey(c, w, true)))).filter((k): k is OtpKeyMaterial => k !== undefined);
          const client = await connector(c)();
          try {
            const r = await census(client, {
              ...scope(c), extraAttributes: (argv['extra-attribute'] as string[] | undefined) ?? c.extraAttributes,
              ...(keys.length ? { keyring: new Keyring(keys), kidLabels: Object.fromEntries(keys.map((k) => [k.kidText, k.subject])) } : {}),
            });
            printCensus(r, argv.json);
            setCode(r.multiValued.entries > 0 || r.unreadable.entries > 0 ? EXIT.failedRolledBack : EXIT.ok);
          } finally {
            await client.close();
          }
        })
      .command('rekey', 're-encrypt every device from the old certificate to the new one', (a) =>
        writeOptions(keyOptions(keyOptions(connOptions(a), 'from', false), 'to', false)).option('include-legacy', { type: 'boolean', default: false, describe: 'also encrypt legacy plaintext values' })
          .example('$0 directory rekey -i inventory.yaml --dry-run', 'what would change: certificates.old to certificates.new, nothing written')
          .example('$0 directory rekey -i inventory.yaml --yes --rate 200', 'do it, at most 200 entries a second, without asking'),
        async (parsed) => {
          const argv = args(parsed);
          const c = await resolveConn(argv);
          const from = await needKey(argv, 'from', c, 'old', 'from-certificate', true);
          const to = await needKey(argv, 'to', c, 'new', 'to-certificate', false);
          if (from.kidText === to.kidText) throw new InputError('the from- and to-certificate are the same certificate');
          await confirmUnlessDry(argv, `Re-encrypt every device under ${from.subject} to ${to.subject} in ${c.url}?`, 'directory rekey');
          setCode(await write(argv, c, { kind: 'rekey', from: [from], to, includeLegacy: argv['include-legacy'] === true }));
        })
      .command('encrypt', 'legacy plaintext values → encrypted under this certificate', (a) => writeOptions(keyOptions(connOptions(a)))
        .example('$0 directory encrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --dry-run', 'which legacy values would be encrypted under the certificate in force')
        .example('$0 directory encrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --yes', 'encrypt them, without asking'),
        async (parsed) => {
          const argv = args(parsed);
          const c = await resolveConn(argv);
          const to = await needKey(argv, '', c, undefined, 'certificate', false);
          await confirmUnlessDry(argv, `Encrypt every legacy OTP value in ${c.url} under ${to.subject}?`, 'directory encrypt');
          setCode(await write(argv, c, { kind: 'encrypt', to }));
        })
      .command('decrypt', 'encrypted values → legacy plaintext (secrets readable in the directory)', (a) => writeOptions(keyOptions(connOptions(a)))
        .example('$0 directory decrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --dry-run', 'how many values would be written in plaintext')
        .example('$0 directory decrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --yes', 'back to plaintext (a downgrade), without asking'),
        async (parsed) => {
          const argv = args(parsed);
          const c = await resolveConn(argv);
          const km = await needKey(argv, '', c, undefined, 'certificate', true);
          await confirmUnlessDry(argv, `Write every OTP secret in ${c.url} to the directory in plaintext?`, 'directory decrypt');
          setCode(await write(argv, c, { kind: 'decrypt', from: [km] }));
        })
      .command('restore <backup-file>', 'put back the originals from a backup where the value is still what the run wrote', (a) =>
        keyOptions(keyOptions(connOptions(a).positional('backup-file', { type: 'string', demandOption: true }), '', false), 'new', false)
          .option('reencrypt-changed', { type: 'boolean', default: false, describe: 'entries changed since the run: re-encrypt their devices under --cert (needs --new-cert)' })
          .option('concurrency', { type: 'number', describe: 'writer connections [default: the inventory\'s, else 8]' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'read and decide, write nothing' })
          .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation (needed without a terminal)' })
          .example('$0 directory restore .adc-cutover/backups/rekey-2026-12-01T22-00-00-000Z.jsonl -i inventory.yaml --dry-run', 'what would be put back (certificates from the inventory)')
          .example('$0 directory restore backup.jsonl -i inventory.yaml --reencrypt-changed --yes', 'put back, and move devices enrolled since the run to the old certificate'),
        async (parsed) => {
          const argv = args(parsed);
          const c = await resolveConn(argv);
          const old = await needKey(argv, '', c, 'old', 'certificate', true);
          const keys: OtpKeyMaterial[] = [old];
          const newer = await keyFrom(argv, 'new', c, 'new', 'new-certificate', true);
          if (newer) keys.push(newer);
          if (argv['reencrypt-changed'] && keys.length < 2) throw new InputError('--reencrypt-changed needs --new-cert (or -i inventory: certificates.new) to read the devices registered since the run');
          await confirmUnlessDry(argv, `Put the values of ${argv['backup-file'] as string} back in ${c.url}?`, 'directory restore');
          const s = await runRestore({
            connect: connector(c, argv['dry-run'] === true), backupFile: argv['backup-file'] as string, keys,
            concurrency: (argv['concurrency'] as number | undefined) ?? c.concurrency,
            // The backup names its attribute; only a flag overrides it, never the inventory's.
            attribute: argv.attribute, ...(argv['reencrypt-changed'] ? { reencryptChangedUnder: old } : {}),
            signal: interrupt(), onProgress: progressPrinter(argv.json),
          });
          printSummary(s, argv.json, s.changedSince.length ? `changed since the run (not put back${argv['reencrypt-changed'] ? '; devices re-encrypted under the old certificate' : ''}):\n${s.changedSince.map((d) => `  ${d}`).join('\n')}` : undefined);
          setCode(exitOf(s));
        })
      .demandCommand(1, 'Name a directory command: census, rekey, encrypt, decrypt or restore.')
      .example('$0 directory census -i inventory.yaml', 'count the devices per certificate')
      .example('$0 directory rekey -i inventory.yaml --dry-run', 'what a re-encryption would change'),
  );
}

/** Every writing directory command: a dry run writes nothing; otherwise ask, or need --yes. */
async function confirmUnlessDry(argv: Args, question: string, command: string): Promise<void> {
  if (argv['dry-run'] === true) return;
  await confirmWrite(argv['yes'] === true, question, command);
}

async function write(argv: Args, c: Conn, job: RekeyJob): Promise<number> {
  const dryRun = argv['dry-run'] === true;
  const where = scope(c);
  const backupFile = dryRun ? undefined : (argv['backup'] as string | undefined) ?? defaultBackup(job.kind);
  const s = await runRekey({
    connect: connector(c, dryRun), ...where, job, backupFile,
    concurrency: (argv['concurrency'] as number | undefined) ?? c.concurrency, rate: argv['rate'] as number | undefined,
    maxFailures: argv['max-failures'] as number | undefined, maxFailureRatio: argv['max-failure-ratio'] as number | undefined,
    cryptoWorkers: argv['crypto-workers'] as number | undefined,
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
