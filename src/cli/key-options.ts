// The certificate options every command shares: --cert F [--key F] [--passphrase-env V], with a
// prefix for commands that take two (--from-…, --to-…). The loading itself is otp's (loadKeyFrom,
// shared with otptool); this adds the yargs options and this process's environment and terminal.
// The command definitions import this module, so it loads otp's crypto only when a key is loaded.
import type { Argv } from 'yargs';
import type { KeyArgs, OtpKeyMaterial } from '../otp/index.js';
import { isInteractive, promptSecret } from './input.js';

export type { KeyArgs };

export function keyOptions<T>(y: Argv<T>, prefix = '', required = true) {
  const name = (n: string) => (prefix ? `${prefix}-${n}` : n);
  return y
    .option(name('cert'), { type: 'string', demandOption: required, describe: 'certificate: PEM, merged PEM (cert+key) or .pfx/.p12' })
    .option(name('key'), { type: 'string', describe: 'private key PEM, when not in the certificate file' })
    .option(name('passphrase-env'), { type: 'string', describe: 'environment variable holding the key/PFX passphrase' })
    .option('allow-expired', { type: 'boolean', default: false, describe: 'accept an expired or not-yet-valid certificate' });
}

/** Loads with this process's environment, and asks at the terminal when there is one. */
export async function loadKeyArgs(args: KeyArgs, label: string): Promise<OtpKeyMaterial> {
  const { loadKeyFrom } = await import('../otp/index.js');
  return loadKeyFrom(args, label, { env: process.env, ...(isInteractive() ? { promptSecret } : {}) });
}

/** Pulls `--<prefix>-cert` style options out of parsed yargs arguments. */
export function keyArgsOf(argv: Record<string, unknown>, prefix = ''): KeyArgs {
  const get = (n: string) => argv[prefix ? `${prefix}-${n}` : n] as string | undefined;
  return { cert: get('cert'), key: get('key'), passphraseEnv: get('passphrase-env'), allowExpired: argv['allow-expired'] as boolean | undefined };
}
