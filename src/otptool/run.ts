// `adc-cutover otptool`: the vendor command line in, the engine's run, the vendor-style summary
// and app.log out. Every input is checked (options, certificates, CA file, password, bind) before
// the log is opened or anything is written, so bad input exits 2 having changed nothing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect, DirectoryError, type DirectoryClient } from '../directory/index.js';
import { AdcError, EXIT, InputError, errorMessage } from '../errors.js';
import { loadKeyFrom, type OtpKeyMaterial } from '../otp/index.js';
import { runRekey, type RekeyJob, type RunSummary } from '../rekey/index.js';
import { AppLog } from './applog.js';
import { NESTED_GROUP_RULE, OPERATION_NAMES, bindHint, translate, usage, type CertArgs, type OtptoolSettings } from './args.js';
import { runCopy } from './copy.js';
import { reportEvent } from './outcomes.js';
import { vendorSummary } from './summary.js';

export interface OtptoolIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Someone at a terminal who can answer a prompt. */
  interactive: boolean;
  promptSecret: (question: string) => Promise<string>;
  confirm: (question: string) => Promise<boolean>;
  signal?: AbortSignal;
}

/** Active Directory's rootDSE capability "this is AD" (LDAP_CAP_ACTIVE_DIRECTORY_OID). */
const AD_CAPABILITY = '1.2.840.113556.1.4.800';

export async function runOtptool(tokens: readonly string[], io: OtptoolIo): Promise<number> {
  const settings = translate(tokens);
  if (settings === 'help') {
    io.stdout(`${usage()}\n`);
    return EXIT.ok;
  }
  for (const w of settings.warnings) io.stderr(`warning: ${w}\n`);

  if (settings.operation === 1 && !settings.dryRun && !settings.yes) {
    if (!io.interactive) {
      throw new InputError('-operation 1 writes every OTP secret into the directory in plaintext: refusing without -yes when nobody is at a terminal to confirm. Nothing was changed.');
    }
    if (!(await io.confirm('Operation 1 writes every OTP secret into the directory in plaintext. Continue?'))) throw new InputError('not confirmed; nothing was changed');
  }

  const job = await loadJob(settings, io);
  const caPem = readCa(settings.caFile);
  const password = await bindPassword(settings, io);
  const backupFile = settings.dryRun ? undefined : backupPath(settings);

  const open = (dryRun: boolean) => () => connect({ url: settings.url, bindDN: settings.bindName, password, caPem, startTls: settings.startTls, dryRun });
  const isAd = await probe(open(true), settings);
  if (settings.filter.includes(NESTED_GROUP_RULE) && !isAd) {
    io.stderr(
      `warning: the filter uses the nested-group rule (${NESTED_GROUP_RULE}), passed through as given. This server does not say it is Active Directory; OpenLDAP and most others silently match nothing with that rule.\n`,
    );
  }

  // Inputs checked, bind proven: from here on the run leaves traces (backup directory, log).
  if (backupFile) mkdirSync(dirname(backupFile), { recursive: true, mode: 0o700 });
  const log = await AppLog.open(settings.logFile);
  const connectFor = open(settings.dryRun);
  let summary: RunSummary;
  let logFailure: unknown;
  try {
    log.line('INFO', `adc-cutover otptool: operation ${settings.operation}, ${OPERATION_NAMES[settings.operation]}${settings.dryRun ? ' (dry run: nothing written)' : ''}`);
    log.line(
      'INFO',
      `directory ${settings.url} as ${settings.bindName}; base ${settings.base}; filter ${settings.filter}; attribute ${settings.attribute}${settings.targetAttribute ? ` → ${settings.targetAttribute} (copy)` : ''}`,
    );
    log.line('INFO', describeKeys(job));
    if (backupFile) log.line('INFO', `backup ${backupFile}`);
    if (settings.targetAttribute) {
      summary = await runCopy({
        connect: connectFor,
        base: settings.base,
        filter: settings.filter,
        attribute: settings.attribute,
        target: settings.targetAttribute,
        job,
        backupFile,
        concurrency: settings.concurrency,
        onEntry: (e) => log.entry(e),
        signal: io.signal,
      });
    } else {
      summary = await runRekey({
        connect: connectFor,
        base: settings.base,
        filter: settings.filter,
        attribute: settings.attribute,
        job,
        backupFile,
        concurrency: settings.concurrency,
        signal: io.signal,
        onEntry: (r) => {
          log.entry(reportEvent(r, job, settings.dryRun));
          // A log that cannot be written stops the run: operators go by app.log, user by user.
          if (log.failure) throw log.failure;
        },
      });
    }
    const notModified = summary.fetched - summary.changed;
    log.line(
      summary.failed.length || summary.stopped ? 'WARNING' : 'INFO',
      `done: fetched ${summary.fetched}, ${summary.dryRun ? 'would modify' : 'modified'} ${summary.changed}, not modified ${notModified} (failed ${summary.failed.length})${summary.stopped ? `; STOPPED: ${summary.stopped.message}` : ''}`,
    );
  } catch (err) {
    log.line('ERROR', `stopped: ${errorMessage(err)}`);
    throw err;
  } finally {
    // Not thrown from here: after a run that wrote, the summary must still be printed.
    logFailure = await log.close().then(
      () => undefined,
      (err: unknown) => err,
    );
  }
  io.stdout(vendorSummary(summary, settings, { logFile: settings.logFile, restoreHint: restoreHint(settings, summary) }));
  if (logFailure) io.stderr(`error: ${errorMessage(logFailure)}${summary.backupFile ? `; the backup ${summary.backupFile} records every write` : ''}\n`);
  if (summary.stopped?.reason === 'aborted') return EXIT.interrupted;
  return summary.failed.length > 0 || summary.stopped || logFailure ? EXIT.failedRolledBack : EXIT.ok;
}

async function loadCert(c: CertArgs, option: string, passOption: string, allowExpired: boolean, io: OtptoolIo): Promise<OtpKeyMaterial> {
  // The passphrase comes from the same environment and terminal as the bind password (io); the
  // messages name the vendor-style options the operator typed.
  const flags = { key: option === '-cert_path' ? '-key_path' : '-new_key_path', passphraseEnv: `-${passOption}` };
  return loadKeyFrom({ cert: c.path, key: c.keyPath, passphraseEnv: c.passphraseEnv, allowExpired, flags }, option, { env: io.env, ...(io.interactive ? { promptSecret: io.promptSecret } : {}) });
}

async function loadJob(s: OtptoolSettings, io: OtptoolIo): Promise<RekeyJob> {
  switch (s.operation) {
    case 0:
      return { kind: 'encrypt', to: await loadCert(s.cert, '-cert_path', 'cert_passphrase_env', false, io) };
    case 1:
      // Reading values written under a certificate that has since expired is the point of the job.
      return { kind: 'decrypt', from: [await loadCert(s.cert, '-cert_path', 'cert_passphrase_env', true, io)] };
    case 2: {
      const from = await loadCert(s.cert, '-cert_path', 'cert_passphrase_env', true, io);
      const to = await loadCert(s.newCert!, '-new_cert_path', 'new_cert_passphrase_env', false, io);
      if (from.kidText === to.kidText) throw new InputError(`-cert_path and -new_cert_path are the same certificate (${to.subject}, KID ${to.kidText})`);
      return { kind: 'rekey', from: [from], to, includeLegacy: s.includeLegacy };
    }
  }
}

function describeKeys(job: RekeyJob): string {
  const k = (m: OtpKeyMaterial) => `${m.subject} (KID ${m.kidText}, valid until ${m.notAfter.toISOString().slice(0, 10)})`;
  switch (job.kind) {
    case 'encrypt':
      return `encrypting under ${k(job.to)}`;
    case 'decrypt':
      return `decrypting with ${job.from.map(k).join(', ')}`;
    case 'rekey':
      return `from ${job.from.map(k).join(', ')} to ${k(job.to)}${job.includeLegacy ? '; legacy plaintext too' : ''}`;
  }
}

function readCa(file: string | undefined): string | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`-ca ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new InputError(`-ca ${file}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`);
  return text;
}

async function bindPassword(s: OtptoolSettings, io: OtptoolIo): Promise<string> {
  const v = io.env[s.passwordEnv];
  if (v !== undefined && v !== '') return v;
  if (s.passwordEnvGiven) throw new InputError(`-password_env ${s.passwordEnv}: the environment variable is not set or empty`);
  if (io.interactive) {
    const typed = await io.promptSecret(`password for ${s.bindName}`);
    if (typed) return typed;
  }
  throw new InputError(`no bind password for ${s.bindName}: set the environment variable ${s.passwordEnv} (or name another with -password_env VAR), or run at a terminal to be asked`);
}

function backupPath(s: OtptoolSettings): string {
  if (s.backupFile) {
    // The engine refuses to overwrite too, but only after connecting: say it now, before anything happens.
    if (existsSync(s.backupFile)) throw new InputError(`-backup ${s.backupFile}: the file exists; a backup is never overwritten, name a new file`);
    return s.backupFile;
  }
  // The directory is made only once every input has been checked (see runOtptool).
  const dir = join('.adc-cutover', 'otptool');
  const job = ['encrypt', 'decrypt', 'update-certificate'][s.operation];
  return join(dir, `${job}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
}

/**
 * One bind before the run, on a connection that cannot write: a wrong name or password becomes
 * exit 2 with what to try, and the rootDSE says whether the server is Active Directory.
 */
async function probe(open: () => Promise<DirectoryClient>, s: OtptoolSettings): Promise<boolean> {
  let c: DirectoryClient;
  try {
    c = await open();
  } catch (err) {
    const code = resultCodeOf(err);
    // 49 invalid credentials; 34 invalid DN syntax is how a DN-only server (slapd) answers a UPN.
    if (code === 49 || code === 34) throw new InputError(`${errorMessage(err)}: the bind as -username ${s.bindName} was refused; ${bindHint(s.bindName)}`, { cause: err });
    if (err instanceof AdcError) throw err;
    throw new AdcError(`${s.url}: ${errorMessage(err)}`, EXIT.failedRolledBack, { cause: err });
  }
  try {
    const [root] = await c.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedCapabilities'] });
    const caps = root?.['supportedCapabilities'];
    return (Array.isArray(caps) ? caps : [caps]).some((v) => String(v) === AD_CAPABILITY);
  } catch {
    return false; // An unreadable rootDSE: assume not AD, which only costs a warning.
  } finally {
    await c.close();
  }
}

function resultCodeOf(err: unknown): number | undefined {
  if (err instanceof DirectoryError && err.resultCode !== undefined) return err.resultCode;
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'number' ? cause.code : undefined;
}

function restoreHint(s: OtptoolSettings, summary: RunSummary): string | undefined {
  if (!summary.backupFile) return undefined;
  // A copy's backup names the target attribute; restoring it deletes the copies where the target
  // held nothing before, and puts back what it held where it did.
  const url = s.url;
  // The backup is sealed with -cert_path's certificate in every operation (the old one for 2).
  const cert = s.cert;
  const q = (v: string) => (/^[A-Za-z0-9_./:@=,-]+$/.test(v) ? v : `"${v.replace(/(["\\$`])/g, '\\$1')}"`);
  return (
    'undo with: ' +
    [
      'adc-cutover directory restore',
      q(summary.backupFile),
      '--url',
      q(url),
      '--bind-dn',
      q(s.bindName),
      `--password-env ${s.passwordEnv}`,
      ...(s.caFile ? ['--ca', q(s.caFile)] : []),
      ...(s.startTls ? ['--start-tls'] : []),
      '--base',
      q(s.base),
      '--cert',
      q(cert.path),
      ...(cert.keyPath ? ['--key', q(cert.keyPath)] : []),
      ...(cert.passphraseEnv ? ['--passphrase-env', cert.passphraseEnv] : []),
      ...(s.targetAttribute ? ['--attribute', s.targetAttribute] : ['--attribute', s.attribute]),
    ].join(' ')
  );
}
