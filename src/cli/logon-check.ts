// `adc-cutover logon-check`: one OTP logon through one gateway, now — or, with -i inventory, one
// through every gateway of the inventory with a canary of its pool, as a run's logon-check step
// does. Secrets come only from environment variables the operator names, a prompt, or the
// inventory's references; the result never contains them.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { EXIT, InputError, errorMessage } from '../errors.js';
import { logonCheck, type FlowChoice, type LogonCheckOptions, type GatewayTlsOptions, type LogonResult, type PasscodeSource } from '../gateway/index.js';
import { Keyring, isBase32Secret } from '../otp/index.js';
import { isInteractive, promptSecret, secretFromEnv } from './input.js';
import { keyArgsOf, keyOptions, loadKeyArgs } from './key-options.js';
import { FileAcceptedSteps } from '../gateway/totp-replay-store.js';
import { runInventoryLogonCheck } from './logon-check-inventory.js';

type SetCode = (code: number) => void;

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

export function registerLogonCheck(cli: Argv, setCode: SetCode): void {
  cli.command('logon-check', 'one OTP logon through a gateway, now (nFactor, or the classic page)', (y) =>
    keyOptions(y, '', false)
      .option('inventory', { alias: 'i', type: 'string', describe: "inventory YAML: log on through every gateway it lists, each time with a canary of its pool not used in this TOTP step (gateway TLS and canary secrets from the inventory)" })
      .option('gateway', { type: 'string', describe: 'gateway URL, e.g. https://gw.example.com (with -i: only this one of the inventory\'s)' })
      .option('user', { type: 'string', describe: 'the canary user name (with -i: only this canary of the pool)' })
      .option('password-env', { type: 'string', describe: 'environment variable holding the password (else a prompt)' })
      .option('totp-secret-env', { type: 'string', describe: 'environment variable holding the Base32 TOTP secret' })
      .option('directory-value-env', { type: 'string', describe: "environment variable holding the user's OTP attribute value; read with --cert" })
      .option('device', { type: 'string', describe: 'device in the directory value whose code to send (default: the first)' })
      .option('ca', { type: 'string', describe: 'PEM file of the CA that issued the gateway certificate' })
      .option('fingerprint', { type: 'string', describe: "SHA-256 fingerprint of the gateway's certificate" })
      .option('servername', { type: 'string', describe: 'name to verify the certificate against' })
      // No default: yargs counts a defaulted flag as given, and --ca would always conflict.
      .option('insecure', { type: 'boolean', describe: 'do not verify the gateway certificate' })
      .option('flow', { choices: ['auto', 'nfactor', 'classic'] as const, default: 'auto' as const, describe: 'logon flow' })
      .option('timeout', { type: 'number', default: 15, describe: 'seconds per request' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .conflicts('totp-secret-env', 'directory-value-env')
      .conflicts('insecure', ['ca', 'fingerprint'])
      .example('$0 logon-check -i inventory.yaml', "every gateway of the inventory, each with a canary of its pool (as a run's logon check)")
      .example('$0 logon-check --gateway https://gw.example.com --user canary --password-env CANARY_PW --totp-secret-env CANARY_TOTP --ca ca.pem', 'the canary logs on with a code from its TOTP secret, then off'),
  async (argv) => {
    // keyOptions names its options by computed strings, which widens yargs' inferred type.
    const a = argv as unknown as ParsedArgv;
    if (a.inventory !== undefined) {
      setCode(await runInventoryLogonCheck({ inventory: a.inventory, gateway: a.gateway, user: a.user, timeout: a.timeout, json: a.json }));
      return;
    }
    if (!a.gateway) throw new InputError('--gateway is required (or -i inventory)');
    if (!a.user) throw new InputError('--user is required (or -i inventory)');
    setCode(await runLogonCheck({
      ...keyArgsOf(argv),
      gateway: a.gateway,
      user: a.user,
      passwordEnv: a['password-env'],
      totpSecretEnv: a['totp-secret-env'],
      directoryValueEnv: a['directory-value-env'],
      device: a.device,
      ca: a.ca,
      fingerprint: a.fingerprint,
      servername: a.servername,
      insecure: a.insecure,
      flow: a.flow,
      timeout: a.timeout,
      json: a.json,
    }));
  });
}

interface ParsedArgv {
  inventory?: string;
  gateway?: string;
  user?: string;
  'password-env'?: string;
  'totp-secret-env'?: string;
  'directory-value-env'?: string;
  device?: string;
  ca?: string;
  fingerprint?: string;
  servername?: string;
  insecure?: boolean;
  flow: FlowChoice;
  timeout: number;
  json: boolean;
}

/** The command without yargs: exit code 0 on a good logon, 1 on a failed one; InputError on bad input. */
export async function runLogonCheck(
  args: LogonCheckArgs, io: Output = stdio, timing: Pick<LogonCheckOptions, 'clock' | 'acceptedSteps'> = {},
): Promise<number> {
  const passcode = await passcodeSource(args);
  const password = secretFromEnv(args.passwordEnv, 'password')
    ?? (isInteractive() ? await promptSecret(`password of ${args.user}`) : undefined);
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
    onNote: (note) => { if (!args.json) io.err(`${note}\n`); },
    // The memory runs use too: a run right after this check waits for a fresh step instead of
    // sending the code this check just used (see src/steps/accepted-steps.ts).
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
