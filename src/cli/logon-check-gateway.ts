// `adc-cutover logon-check --gateway … --user …`: one OTP logon through one gateway, with the
// passcode from a TOTP secret or a directory value, and the gateway's TLS as the flags say. The
// command without yargs (logon-check.ts holds the flags), loaded when the command runs: the HTTP
// client and the crypto it needs are not for every command's start-up.
import { readFileSync } from 'node:fs';
import { EXIT, InputError, errorMessage } from '../errors.js';
import { logonCheck, type FlowChoice, type LogonCheckOptions, type GatewayTlsOptions, type LogonResult, type PasscodeSource } from '../gateway/index.js';
import { Keyring, isBase32Secret } from '../otp/index.js';
import { isInteractive, promptSecret, secretFromEnv } from './input.js';
import { loadKeyArgs } from './key-options.js';
import { FileAcceptedSteps } from '../gateway/totp-replay-store.js';

export interface LogonCheckArgs {
  gateway: string;
  user: string;
  passwordEnv?: string;
  totpSecretEnv?: string;
  directoryValueEnv?: string;
  device?: string;
  cert?: string;
  key?: string;
  passphraseEnv?: string;
  allowExpired?: boolean;
  ca?: string;
  fingerprint?: string;
  servername?: string;
  insecure?: boolean;
  flow?: FlowChoice;
  timeout?: number;
  json?: boolean;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const stdio: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** The command without yargs: exit code 0 on a good logon, 1 on a failed one; InputError on bad input. */
export async function runLogonCheck(args: LogonCheckArgs, io: Output = stdio, timing: Pick<LogonCheckOptions, 'clock' | 'acceptedSteps'> = {}): Promise<number> {
  const passcode = await passcodeSource(args);
  const password = secretFromEnv(args.passwordEnv, 'password') ?? (isInteractive() ? await promptSecret(`password of ${args.user}`) : undefined);
  if (!password) throw new InputError('no password: name the environment variable holding it with --password-env');
  if (args.timeout !== undefined && !(args.timeout > 0)) throw new InputError('--timeout must be a positive number of seconds');
  const result = await logonCheck({
    gatewayUrl: args.gateway,
    user: args.user,
    password,
    passcode,
    flow: args.flow ?? 'auto',
    tls: tlsOptions(args),
    ...(args.timeout !== undefined ? { timeoutMs: args.timeout * 1000 } : {}),
    onNote: (note) => {
      if (!args.json) io.err(`${note}\n`);
    },
    // The memory runs use too: a run right after this check waits for a fresh step instead of
    // sending the code this check just used (see src/gateway/totp-replay-store.ts).
    acceptedSteps: timing.acceptedSteps ?? new FileAcceptedSteps(),
    ...timing,
  });
  for (const w of result.warnings) io.err(`warning: ${w}\n`);
  io.out(args.json ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
  return result.outcome === 'ok' ? EXIT.ok : EXIT.failedRolledBack;
}

async function passcodeSource(args: LogonCheckArgs): Promise<PasscodeSource> {
  if (args.totpSecretEnv !== undefined) {
    const secret = secretFromEnv(args.totpSecretEnv, 'TOTP secret') ?? '';
    const normalized = secret.replace(/\s+/g, '').toUpperCase().replace(/=+$/, '');
    if (!isBase32Secret(normalized)) throw new InputError(`the TOTP secret in ${args.totpSecretEnv} is not Base32 text`);
    return { kind: 'secret', secret: normalized };
  }
  if (args.directoryValueEnv !== undefined) {
    const value = secretFromEnv(args.directoryValueEnv, 'directory value') ?? '';
    if (!args.cert) throw new InputError('--directory-value-env needs --cert (and --key) of the certificate that should now be in force');
    const km = await loadKeyArgs({ cert: args.cert, key: args.key, passphraseEnv: args.passphraseEnv, allowExpired: args.allowExpired }, 'certificate');
    return { kind: 'directory', value, keyring: new Keyring([km]), ...(args.device ? { device: args.device } : {}) };
  }
  throw new InputError('no passcode source: give --totp-secret-env, or --directory-value-env with --cert');
}

function tlsOptions(args: LogonCheckArgs): GatewayTlsOptions {
  let caPem: string | undefined;
  if (args.ca) {
    try {
      caPem = readFileSync(args.ca, 'utf8');
    } catch (err) {
      throw new InputError(`--ca ${args.ca}: ${errorMessage(err)}`);
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new InputError(`--ca ${args.ca}: no PEM certificate in the file`);
  }
  if (args.fingerprint && !/^[0-9a-f]{64}$/i.test(args.fingerprint.replace(/^sha256:/i, '').replace(/[:\s]/g, ''))) {
    throw new InputError('--fingerprint must be a SHA-256 fingerprint (64 hex digits, colons allowed)');
  }
  return {
    ...(caPem ? { caPem } : {}),
    ...(args.fingerprint ? { fingerprintSha256: args.fingerprint } : {}),
    ...(args.servername ? { servername: args.servername } : {}),
    ...(args.insecure ? { insecure: true } : {}),
  };
}

function describe(r: LogonResult): string {
  const how = `${r.flow}, ${r.durationMs} ms${r.kid ? `, device under KID ${r.kid}` : ''}`;
  return `${r.outcome === 'ok' ? 'ok' : `FAILED (${r.outcome})`}: ${r.message} [${how}]`;
}
