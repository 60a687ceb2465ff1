// The vendor tool's command line, read the way operators type it (`-Host dc1 -Port 636 …`), and
// translated to what our modules take. Pure: no I/O, so every rule here is unit-tested.
//
// Why a hand-written reader and not yargs: yargs reads `-Host` as the short flags -H -o -s -t,
// and runbooks spell the options in any case (`-search_base`, `-Search_Base`). A table of known
// options, matched case-insensitively with one or two dashes, keeps the vendor spelling working.
import { InputError } from '../errors.js';
import { DEFAULT_CONCURRENCY } from '../rekey/defaults.js';

export type Operation = 0 | 1 | 2;

export const OPERATION_NAMES: Record<Operation, string> = {
  0: 'encrypt (legacy plaintext → encrypted)',
  1: 'decrypt (encrypted → legacy plaintext)',
  2: 'update certificate (old → new)',
};

/** The environment variable the bind password is read from when -password_env names no other. */
export const PASSWORD_ENV = 'ADC_OTPTOOL_PASSWORD';

/** Default log file, as the vendor tool writes it: in the current directory. */
export const DEFAULT_LOG = 'app.log';

interface OptionSpec {
  /** Canonical spelling, used in messages and the docs. */
  name: string;
  kind: 'value' | 'flag';
  /** Which tool it comes from: the vendor's (same meaning) or ours (added safety or convenience). */
  origin: 'vendor' | 'ours';
  help: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  { name: 'Host', kind: 'value', origin: 'vendor', help: 'domain controller host name (or an ldap:// / ldaps:// URL)' },
  { name: 'Port', kind: 'value', origin: 'vendor', help: 'port; 636 (the default) and 3269 mean LDAPS, anything else plain LDAP' },
  { name: 'username', kind: 'value', origin: 'vendor', help: 'bind name: a DN, or a UPN (svc@contoso.local) for Active Directory; passed to the server as given' },
  { name: 'search_base', kind: 'value', origin: 'vendor', help: 'search base DN' },
  { name: 'search_filter', kind: 'value', origin: 'vendor', help: 'LDAP filter, passed through as given (default (objectClass=user))' },
  { name: 'source_attribute', kind: 'value', origin: 'vendor', help: 'the OTP attribute (default userParameters)' },
  { name: 'target_attribute', kind: 'value', origin: 'vendor', help: 'write the result into this attribute instead; the source stays as it is' },
  { name: 'operation', kind: 'value', origin: 'vendor', help: '0 encrypt, 1 decrypt, 2 update certificate' },
  { name: 'cert_path', kind: 'value', origin: 'vendor', help: 'certificate: PEM, merged PEM (cert + key) or .pfx/.p12; the old one for operation 2' },
  { name: 'new_cert_path', kind: 'value', origin: 'vendor', help: 'the new certificate for operation 2 (same forms)' },
  { name: 'key_path', kind: 'value', origin: 'ours', help: 'private key PEM for -cert_path, when not in the certificate file' },
  { name: 'new_key_path', kind: 'value', origin: 'ours', help: 'private key PEM for -new_cert_path' },
  { name: 'cert_passphrase_env', kind: 'value', origin: 'ours', help: 'environment variable holding the passphrase of -cert_path (PFX or encrypted key)' },
  { name: 'new_cert_passphrase_env', kind: 'value', origin: 'ours', help: 'environment variable holding the passphrase of -new_cert_path' },
  { name: 'password_env', kind: 'value', origin: 'ours', help: `environment variable holding the bind password (default ${PASSWORD_ENV}; else a prompt)` },
  { name: 'ca', kind: 'value', origin: 'ours', help: 'PEM file of the CA that signed the directory certificate (LDAPS, StartTLS)' },
  { name: 'start_tls', kind: 'flag', origin: 'ours', help: 'StartTLS on a plain LDAP port' },
  { name: 'insecure', kind: 'flag', origin: 'ours', help: 'skip the directory certificate check (not available yet: give -ca)' },
  { name: 'backup', kind: 'value', origin: 'ours', help: 'backup file to create (default .adc-cutover/otptool/<operation>-<time>.jsonl)' },
  { name: 'dry_run', kind: 'flag', origin: 'ours', help: 'read and decide, write nothing' },
  { name: 'log', kind: 'value', origin: 'ours', help: `log file, appended to (default ${DEFAULT_LOG})` },
  { name: 'yes', kind: 'flag', origin: 'ours', help: 'do not ask before operation 1 (needed when nobody is at a terminal)' },
  { name: 'include_legacy', kind: 'flag', origin: 'ours', help: 'operation 2: also encrypt legacy plaintext values under the new certificate' },
  { name: 'concurrency', kind: 'value', origin: 'ours', help: `writer connections (default ${DEFAULT_CONCURRENCY})` },
  { name: 'help', kind: 'flag', origin: 'ours', help: 'this text' },
];

/**
 * Option names that would carry a password. Refused outright, and their value is never echoed:
 * a password on the command line sits in the shell history and in every `ps` listing.
 */
const PASSWORD_OPTIONS = new Set(['password', 'pwd', 'passwd', 'pass', 'bind_password', 'bindpassword', 'w']);

export type RawOptions = Partial<Record<string, string | true>>;

function canonical(name: string): OptionSpec | undefined {
  const n = name.toLowerCase().replace(/-/g, '_');
  return OPTIONS.find((o) => o.name.toLowerCase() === n);
}

/** Closest known option for a typo: same letters ignoring `_`, or a shared prefix. */
function suggestion(name: string): string {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  const hit = OPTIONS.find((o) => o.name.toLowerCase().replace(/_/g, '') === n) ?? OPTIONS.find((o) => n.length >= 3 && o.name.toLowerCase().replace(/_/g, '').startsWith(n.slice(0, 4)));
  return hit ? ` (did you mean -${hit.name}?)` : '';
}

/**
 * Reads `-Name value`, `--name value`, `-name=value` and bare flags. Errors name the option at
 * fault and never repeat a value: a misplaced password must not come back on the screen.
 */
export function readOptions(tokens: readonly string[]): RawOptions {
  const out: RawOptions = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const m = /^--?([A-Za-z][A-Za-z0-9_-]*)(?:=([\s\S]*))?$/.exec(token);
    if (!m) {
      // A value with no option before it. Say where, not what: it could be a password.
      throw new InputError(`argument ${i + 1} is a value with no option before it (options start with -, e.g. -Host dc1)`);
    }
    const name = m[1];
    const inline = m[2];
    if (PASSWORD_OPTIONS.has(name.toLowerCase().replace(/-/g, '_'))) {
      throw new InputError(
        `-${name}: refused: a password is never taken on the command line (it would stay in the shell history and the process list). ` +
          `Put it in the environment variable ${PASSWORD_ENV} (or name another with -password_env VAR), or leave both out to be asked at a prompt. Nothing was changed.`,
      );
    }
    const spec = canonical(name);
    if (!spec) throw new InputError(`-${name}: unknown option${suggestion(name)}; see adc-cutover otptool -help`);
    if (out[spec.name] !== undefined) throw new InputError(`-${spec.name} is given twice`);
    if (spec.kind === 'flag') {
      if (inline !== undefined && !/^(true|false|1|0|yes|no)$/i.test(inline)) throw new InputError(`-${spec.name} is a flag: give it alone (or =true / =false)`);
      if (inline === undefined || /^(true|1|yes)$/i.test(inline)) out[spec.name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = tokens[i + 1];
      // "-Host -Port 636": the next token is an option, not this one's value.
      if (next === undefined || (/^--?[A-Za-z]/.test(next) && canonical(next.replace(/^--?/, '').split('=')[0]))) {
        throw new InputError(`-${spec.name} needs a value`);
      }
      value = next;
      i++;
    }
    if (value.trim() === '') throw new InputError(`-${spec.name} needs a value (it is empty)`);
    out[spec.name] = value;
  }
  return out;
}

export interface CertArgs {
  path: string;
  keyPath?: string;
  passphraseEnv?: string;
}

/** Everything a run needs, in our terms. No secret in here: the password is looked up later. */
export interface OtptoolSettings {
  operation: Operation;
  url: string;
  /** Passed to the bind as given: a DN, or a UPN which Active Directory accepts. */
  bindName: string;
  passwordEnv: string;
  /** True when the operator named the variable (so a missing one is an error, not a prompt). */
  passwordEnvGiven: boolean;
  caFile?: string;
  startTls: boolean;
  base: string;
  filter: string;
  attribute: string;
  targetAttribute?: string;
  /** The certificate to decrypt with (operations 1, 2) or to encrypt with (operation 0). */
  cert: CertArgs;
  /** Operation 2 only. */
  newCert?: CertArgs;
  backupFile?: string;
  dryRun: boolean;
  logFile: string;
  yes: boolean;
  includeLegacy: boolean;
  concurrency: number;
  /** Things worth telling the operator before the run (not errors). */
  warnings: string[];
}

export const NESTED_GROUP_RULE = '1.2.840.113556.1.4.1941';

const ATTRIBUTE = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)$/;

function str(o: RawOptions, name: string): string | undefined {
  const v = o[name];
  return typeof v === 'string' ? v : undefined;
}

function required(o: RawOptions, name: string, what: string): string {
  const v = str(o, name);
  if (v === undefined) throw new InputError(`-${name} is required (${what})`);
  return v;
}

function attributeOption(o: RawOptions, name: string, fallback?: string): string | undefined {
  const v = str(o, name) ?? fallback;
  if (v !== undefined && !ATTRIBUTE.test(v)) throw new InputError(`-${name} "${v.slice(0, 60)}" is not an LDAP attribute name`);
  return v;
}

/** The directory URL from -Host and -Port, as the vendor tool reads them (636 means LDAPS). */
export function directoryUrl(host: string, port: string | undefined): string {
  const h = host.trim();
  if (/^ldaps?:\/\//i.test(h)) {
    if (port !== undefined) throw new InputError(`-Host ${h} is a URL; put the port in it and leave out -Port`);
    return h.replace(/\/+$/, '');
  }
  if (!/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(h)) throw new InputError(`-Host "${h.slice(0, 80)}" is not a host name or address`);
  const p = port ?? '636';
  if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new InputError(`-Port "${p.slice(0, 20)}" is not a port number (1-65535)`);
  // 636 is LDAPS; 3269 is the global catalog over TLS. The vendor tool knows only 636.
  const scheme = p === '636' || p === '3269' ? 'ldaps' : 'ldap';
  return `${scheme}://${h}:${p}`;
}

/** Reads the vendor command line into settings; throws InputError (exit 2) before anything is touched. */
export function translate(tokens: readonly string[]): OtptoolSettings | 'help' {
  const o = readOptions(tokens);
  if (o['help']) return 'help';
  const opText = required(o, 'operation', '0 encrypt, 1 decrypt, 2 update certificate');
  if (!/^[012]$/.test(opText.trim())) throw new InputError(`-operation "${opText.slice(0, 20)}": expected 0 (encrypt), 1 (decrypt) or 2 (update certificate)`);
  const operation = Number(opText.trim()) as Operation;

  const url = directoryUrl(required(o, 'Host', 'the domain controller'), str(o, 'Port'));
  const warnings: string[] = [];
  const startTls = o['start_tls'] === true;
  if (startTls && url.startsWith('ldaps:')) throw new InputError('-start_tls is for a plain LDAP port; port 636 is already LDAPS');
  if (url.startsWith('ldap:') && !startTls) {
    warnings.push(`${url} is plain LDAP: the bind password and every OTP value cross the network in clear. Use -Port 636 (LDAPS) or -start_tls.`);
  }
  if (o['insecure']) {
    // connect() always checks the server certificate; there is no switch to turn that off yet.
    throw new InputError("-insecure is not available: give the CA that signed the directory's certificate with -ca FILE (the check cannot be turned off)");
  }

  // Passed through as given, nested-group rule included: the run warns when the server is not AD.
  const filter = str(o, 'search_filter') ?? '(objectClass=user)';
  const attribute = attributeOption(o, 'source_attribute', 'userParameters')!;
  const targetAttribute = attributeOption(o, 'target_attribute');
  if (targetAttribute && targetAttribute.toLowerCase() === attribute.toLowerCase()) {
    throw new InputError(`-target_attribute ${targetAttribute} is the source attribute; leave it out to change the values in place`);
  }

  const cert: CertArgs = { path: required(o, 'cert_path', operation === 0 ? 'the certificate to encrypt with' : 'the certificate the values are encrypted under') };
  if (str(o, 'key_path')) cert.keyPath = str(o, 'key_path');
  if (str(o, 'cert_passphrase_env')) cert.passphraseEnv = str(o, 'cert_passphrase_env');
  let newCert: CertArgs | undefined;
  if (operation === 2) {
    newCert = { path: required(o, 'new_cert_path', 'the certificate to move the values to') };
    if (str(o, 'new_key_path')) newCert.keyPath = str(o, 'new_key_path');
    if (str(o, 'new_cert_passphrase_env')) newCert.passphraseEnv = str(o, 'new_cert_passphrase_env');
  } else {
    // One certificate per direction: a second one on operation 0/1 means the runbook is not what the operator thinks.
    for (const n of ['new_cert_path', 'new_key_path', 'new_cert_passphrase_env']) {
      if (o[n] !== undefined) throw new InputError(`-${n} is for operation 2 (update certificate); operation ${operation} uses -cert_path only`);
    }
  }
  if (o['include_legacy'] && operation !== 2) throw new InputError(`-include_legacy is for operation 2; operation 0 encrypts legacy values anyway`);

  const concText = str(o, 'concurrency') ?? String(DEFAULT_CONCURRENCY);
  if (!/^\d+$/.test(concText) || Number(concText) < 1 || Number(concText) > 64) throw new InputError(`-concurrency "${concText.slice(0, 20)}": expected a whole number from 1 to 64`);
  const passwordEnv = str(o, 'password_env');
  if (passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw new InputError('-password_env takes the NAME of an environment variable (letters, digits, _), not the password itself');
  }

  return {
    operation,
    url,
    bindName: required(o, 'username', 'the service account: a DN, or a UPN such as svc@contoso.local for Active Directory'),
    passwordEnv: passwordEnv ?? PASSWORD_ENV,
    passwordEnvGiven: passwordEnv !== undefined,
    ...(str(o, 'ca') ? { caFile: str(o, 'ca') } : {}),
    startTls,
    base: required(o, 'search_base', 'where the users are, e.g. DC=contoso,DC=local'),
    filter,
    attribute,
    ...(targetAttribute ? { targetAttribute } : {}),
    cert,
    ...(newCert ? { newCert } : {}),
    ...(str(o, 'backup') ? { backupFile: str(o, 'backup') } : {}),
    dryRun: o['dry_run'] === true,
    logFile: str(o, 'log') ?? DEFAULT_LOG,
    yes: o['yes'] === true,
    includeLegacy: o['include_legacy'] === true,
    concurrency: Number(concText),
    warnings,
  };
}

/** What a failed bind most likely means, given the name the operator bound with. */
export function bindHint(bindName: string): string {
  if (bindName.includes('@') && !bindName.includes('=')) {
    return `"${bindName}" is a UPN: Active Directory accepts it as given, other servers (OpenLDAP) only take a DN, e.g. -username "CN=svc-otp,OU=Service,DC=contoso,DC=local". Also check the password.`;
  }
  if (!bindName.includes('=')) {
    return `"${bindName}" is neither a DN nor a UPN: give the DN (CN=…,DC=…) or, for Active Directory, the UPN (name@domain). Also check the password.`;
  }
  return 'check the DN (every RDN, e.g. CN=…,OU=…,DC=…) and the password.';
}

export function usage(): string {
  const w = Math.max(...OPTIONS.map((o) => o.name.length + (o.kind === 'value' ? 6 : 0)));
  const line = (o: OptionSpec) => `  -${(o.name + (o.kind === 'value' ? ' VALUE' : '')).padEnd(w)}  ${o.help}`;
  return [
    'adc-cutover otptool -Host H [-Port 636] -username U -search_base B [-search_filter F] [-source_attribute A]',
    '                    [-target_attribute T] -operation 0|1|2 -cert_path C [-new_cert_path N] [options]',
    '',
    "A drop-in for the vendor OTP encryption tool's command line: same options (any case, - or --),",
    'run through the adc-cutover engine: backup first, compare-and-swap per user, read-back verification.',
    `The bind password comes from $${PASSWORD_ENV} (or -password_env VAR) or a prompt; never an option value.`,
    '',
    "The vendor tool's options:",
    ...OPTIONS.filter((o) => o.origin === 'vendor').map(line),
    '',
    'Added by adc-cutover:',
    ...OPTIONS.filter((o) => o.origin === 'ours').map(line),
    '',
    'Exit: 0 done, 1 some users failed (see the log), 2 bad input (nothing changed).',
  ].join('\n');
}
