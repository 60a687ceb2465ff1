// What each `adc-cutover directory …` command does, once directory.ts has parsed its flags: where
// to connect (the flags, else the inventory), which certificates, then the engine and the summary.
// Loaded only when one of them runs, for the LDAP client and the crypto. The inventory parser (YAML
// and its schema, as heavy again) is imported only when -i names an inventory.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { census as runCensus, connect, type CensusResult, type DirectoryClient } from '../directory/index.js';
import { EXIT, InputError, errorMessage } from '../errors.js';
import { Keyring, loadKeyMaterial, type OtpKeyMaterial } from '../otp/index.js';
import type { Inventory } from '../playbook/inventory.js';
import type { SecretRef } from '../playbook/secret-ref.js';
import { registerSecret } from '../runner/redact.js';
import { runRekey, runRestore, type RekeyJob, type RunProgress, type RunSummary } from '../rekey/index.js';
import { confirmWrite, secretFromEnv } from './input.js';
import { keyArgsOf, loadKeyArgs } from './key-options.js';

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

type Args = ConnArgs & Record<string, unknown>;

/** yargs' types do not survive keyOptions(); the options themselves are declared in directory.ts. */
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
  const inv = a.inventory ? await (await import('../playbook/inventory.js')).loadInventory(a.inventory) : undefined;
  const d = inv?.directory;
  const from = (flag: string) => `--${flag}${inv ? ` (or directory.${flag === 'bind-dn' ? 'bindDN' : flag} in ${inv.file})` : ' (or -i inventory)'}`;
  const url = a.url ?? d?.url;
  if (!url) throw new InputError(`${from('url')} is required`);
  const bindDN = a['bind-dn'] ?? d?.bindDN;
  if (!bindDN) throw new InputError(`${from('bind-dn')} is required`);
  let password: string | undefined;
  if (a['password-env'] !== undefined) password = secretFromEnv(a['password-env'], 'bind password');
  else if (d && inv) password = await inventorySecret(d.password, inv);
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
    url,
    bindDN,
    password,
    caPem,
    startTls: a['start-tls'] ?? d?.startTls ?? false,
    timeoutMs: Math.max(1, a.timeout ?? 30) * 1000,
    base: a.base ?? d?.base,
    filter: a.filter ?? d?.filter ?? '(objectClass=user)',
    attribute: a.attribute ?? d?.attribute,
    pageSize: a['page-size'] ?? d?.pageSize ?? 500,
    concurrency: d?.concurrency,
    extraAttributes: d?.extraAttributes,
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
  const passphrase = spec.passphrase ? await inventorySecret(spec.passphrase, inv) : undefined;
  registerSecret(passphrase);
  return loadKeyMaterial({ cert: spec.cert, key: spec.key, passphrase, allowExpired }).catch((err: Error) => {
    throw new InputError(`${inv.file} certificates.${which}: ${err.message}`);
  });
}

/** A secret the inventory refers to (there is one only with -i, so its reader is loaded then). */
async function inventorySecret(ref: SecretRef, inv: Inventory): Promise<string> {
  const { resolveSecret } = await import('../playbook/secret-ref.js');
  return resolveSecret(ref, inv.baseDir);
}

async function needKey(argv: Args, prefix: string, c: Conn, which: 'old' | 'new' | undefined, label: string, allowExpired: boolean): Promise<OtpKeyMaterial> {
  const km = await keyFrom(argv, prefix, c, which, label, allowExpired);
  const flag = `--${prefix ? `${prefix}-` : ''}cert`;
  if (!km) throw new InputError(`${flag} is required${which ? ` (or -i inventory: certificates.${which})` : ''}`);
  return km;
}

/** `directory census`: reads only; exit 1 when a value is multi-valued or unreadable. */
export async function census(parsed: unknown): Promise<number> {
  const argv = args(parsed);
  const c = await resolveConn(argv);
  // With an inventory and no --cert, both certificates: devices under either are counted by name.
  const keys = argv['cert']
    ? [await needKey(argv, '', c, undefined, 'certificate', true)]
    : (await Promise.all((['old', 'new'] as const).map((w) => inventoryKey(c, w, true)))).filter((k): k is OtpKeyMaterial => k !== undefined);
  const client = await connector(c)();
  try {
    const r = await runCensus(client, {
      ...scope(c),
      extraAttributes: (argv['extra-attribute'] as string[] | undefined) ?? c.extraAttributes,
      ...(keys.length ? { keyring: new Keyring(keys), kidLabels: Object.fromEntries(keys.map((k) => [k.kidText, k.subject])) } : {}),
    });
    printCensus(r, argv.json);
    return r.multiValued.entries > 0 || r.unreadable.entries > 0 ? EXIT.failedRolledBack : EXIT.ok;
  } finally {
    await client.close();
  }
}

/** `directory rekey`: every device from the old certificate to the new one. */
export async function rekey(parsed: unknown): Promise<number> {
  const argv = args(parsed);
  const c = await resolveConn(argv);
  const from = await needKey(argv, 'from', c, 'old', 'from-certificate', true);
  const to = await needKey(argv, 'to', c, 'new', 'to-certificate', false);
  if (from.kidText === to.kidText) throw new InputError('the from- and to-certificate are the same certificate');
  await confirmUnlessDry(argv, `Re-encrypt every device under ${from.subject} to ${to.subject} in ${c.url}?`, 'directory rekey');
  return write(argv, c, { kind: 'rekey', from: [from], to, includeLegacy: argv['include-legacy'] === true });
}

/** `directory encrypt`: legacy plaintext values under this certificate. */
export async function encrypt(parsed: unknown): Promise<number> {
  const argv = args(parsed);
  const c = await resolveConn(argv);
  const to = await needKey(argv, '', c, undefined, 'certificate', false);
  await confirmUnlessDry(argv, `Encrypt every legacy OTP value in ${c.url} under ${to.subject}?`, 'directory encrypt');
  return write(argv, c, { kind: 'encrypt', to });
}

/** `directory decrypt`: encrypted values back to legacy plaintext. */
export async function decrypt(parsed: unknown): Promise<number> {
  const argv = args(parsed);
  const c = await resolveConn(argv);
  const km = await needKey(argv, '', c, undefined, 'certificate', true);
  await confirmUnlessDry(argv, `Write every OTP secret in ${c.url} to the directory in plaintext?`, 'directory decrypt');
  return write(argv, c, { kind: 'decrypt', from: [km] });
}

/** `directory restore`: the originals from a backup, where the value is still what the run wrote. */
export async function restore(parsed: unknown): Promise<number> {
  const argv = args(parsed);
  const c = await resolveConn(argv);
  const old = await needKey(argv, '', c, 'old', 'certificate', true);
  const keys: OtpKeyMaterial[] = [old];
  const newer = await keyFrom(argv, 'new', c, 'new', 'new-certificate', true);
  if (newer) keys.push(newer);
  if (argv['reencrypt-changed'] && keys.length < 2) throw new InputError('--reencrypt-changed needs --new-cert (or -i inventory: certificates.new) to read the devices registered since the run');
  await confirmUnlessDry(argv, `Put the values of ${argv['backup-file'] as string} back in ${c.url}?`, 'directory restore');
  const s = await runRestore({
    connect: connector(c, argv['dry-run'] === true),
    backupFile: argv['backup-file'] as string,
    keys,
    concurrency: (argv['concurrency'] as number | undefined) ?? c.concurrency,
    // The backup names its attribute; only a flag overrides it, never the inventory's.
    attribute: argv.attribute,
    ...(argv['reencrypt-changed'] ? { reencryptChangedUnder: old } : {}),
    signal: interrupt(),
    onProgress: progressPrinter(argv.json),
  });
  printSummary(
    s,
    argv.json,
    s.changedSince.length
      ? `changed since the run (not put back${argv['reencrypt-changed'] ? '; devices re-encrypted under the old certificate' : ''}):\n${s.changedSince.map((d) => `  ${d}`).join('\n')}`
      : undefined,
  );
  return exitOf(s);
}

/** Every writing directory command: a dry run writes nothing; otherwise ask, or need --yes. */
async function confirmUnlessDry(argv: Args, question: string, command: string): Promise<void> {
  if (argv['dry-run'] === true) return;
  await confirmWrite(argv['yes'] === true, question, command);
}

async function write(argv: Args, c: Conn, job: RekeyJob): Promise<number> {
  const dryRun = argv['dry-run'] === true;
  const where = scope(c);
  const backupFile = dryRun ? undefined : ((argv['backup'] as string | undefined) ?? defaultBackup(job.kind));
  const s = await runRekey({
    connect: connector(c, dryRun),
    ...where,
    job,
    backupFile,
    concurrency: (argv['concurrency'] as number | undefined) ?? c.concurrency,
    rate: argv['rate'] as number | undefined,
    maxFailures: argv['max-failures'] as number | undefined,
    maxFailureRatio: argv['max-failure-ratio'] as number | undefined,
    cryptoWorkers: argv['crypto-workers'] as number | undefined,
    signal: interrupt(),
    onProgress: progressPrinter(argv.json),
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
