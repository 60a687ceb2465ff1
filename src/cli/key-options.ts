// The certificate options every command shares: --cert F [--key F] [--passphrase-env V], with a
// prefix for commands that take two (--from-…, --to-…). A key that turns out to be encrypted is
// asked for at a prompt when there is a terminal.
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import { loadKeyMaterial, type OtpKeyMaterial } from '../otp/index.js';
import { isInteractive, promptSecret, secretFromEnv } from './input.js';

export interface KeyArgs {
  cert?: string;
  key?: string;
  passphraseEnv?: string;
  allowExpired?: boolean;
}

export function keyOptions<T>(y: Argv<T>, prefix = '', required = true) {
  const name = (n: string) => (prefix ? `${prefix}-${n}` : n);
  return y
    .option(name('cert'), { type: 'string', demandOption: required, describe: 'certificate: PEM, merged PEM (cert+key) or .pfx/.p12' })
    .option(name('key'), { type: 'string', describe: 'private key PEM, when not in the certificate file' })
    .option(name('passphrase-env'), { type: 'string', describe: 'environment variable holding the key/PFX passphrase' })
    .option('allow-expired', { type: 'boolean', default: false, describe: 'accept an expired or not-yet-valid certificate' });
}

export async function loadKeyArgs(args: KeyArgs, label: string): Promise<OtpKeyMaterial> {
  if (!args.cert) throw new InputError(`${label}: no certificate given`);
  const passphrase = secretFromEnv(args.passphraseEnv, `${label} passphrase`);
  try {
    return await loadKeyMaterial({ cert: args.cert, key: args.key, passphrase, allowExpired: args.allowExpired });
  } catch (err) {
    // An encrypted key or PFX without a passphrase: ask, when someone is there to answer.
    if (passphrase === undefined && isInteractive() && err instanceof InputError && /passphrase/.test(err.message)) {
      const asked = await promptSecret(`passphrase for ${args.cert}`);
      return loadKeyMaterial({ cert: args.cert, key: args.key, passphrase: asked, allowExpired: args.allowExpired });
    }
    throw err;
  }
}

/** Pulls `--<prefix>-cert` style options out of parsed yargs arguments. */
export function keyArgsOf(argv: Record<string, unknown>, prefix = ''): KeyArgs {
  const get = (n: string) => argv[prefix ? `${prefix}-${n}` : n] as string | undefined;
  return { cert: get('cert'), key: get('key'), passphraseEnv: get('passphrase-env'), allowExpired: argv['allow-expired'] as boolean | undefined };
}
