// Key material from where an operator keeps it: the files, and a passphrase from an environment
// variable they name or, failing that, a prompt. The environment and the prompt are handed in, so
// each front end (the long-option CLI, the vendor-style otptool) uses its own and no terminal or
// process state is read down here.
import { InputError } from '../errors.js';
import { KeyPassphraseError } from './errors.js';
import { loadKeyMaterial, type KeyFlagNames, type OtpKeyMaterial } from './key-material.js';

export interface KeyArgs {
  cert?: string;
  key?: string;
  /** The NAME of the environment variable holding the passphrase, never the passphrase. */
  passphraseEnv?: string;
  allowExpired?: boolean;
  /** The options as the operator typed them, for the messages (default: --key, --passphrase-env). */
  flags?: KeyFlagNames;
}

export interface KeySourceIo {
  env: NodeJS.ProcessEnv;
  /** Asks without echoing; absent when nobody is at a terminal to answer. */
  promptSecret?: (question: string) => Promise<string>;
}

/** `label` names the certificate in errors (an option such as --from-cert or -cert_path). */
export async function loadKeyFrom(args: KeyArgs, label: string, io: KeySourceIo): Promise<OtpKeyMaterial> {
  if (!args.cert) throw new InputError(`${label}: no certificate given`);
  const passphrase = passphraseFrom(io.env, args.passphraseEnv, label);
  try {
    return await loadKeyMaterial({ cert: args.cert, key: args.key, passphrase, allowExpired: args.allowExpired, ...(args.flags ? { flags: args.flags } : {}) });
  } catch (err) {
    // An encrypted key or PFX without a passphrase: ask, when someone is there to answer.
    if (passphrase === undefined && io.promptSecret && err instanceof KeyPassphraseError) {
      const asked = await io.promptSecret(`passphrase for ${args.cert}`);
      return loadKeyMaterial({ cert: args.cert, key: args.key, passphrase: asked, allowExpired: args.allowExpired, ...(args.flags ? { flags: args.flags } : {}) });
    }
    throw err;
  }
}

function passphraseFrom(env: NodeJS.ProcessEnv, varName: string | undefined, label: string): string | undefined {
  if (varName === undefined) return undefined;
  const v = env[varName];
  if (v === undefined || v === '') throw new InputError(`${label} passphrase: environment variable ${varName} is not set or empty`);
  return v;
}
