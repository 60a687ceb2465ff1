// What each `adc-cutover otp …` command does, once otp.ts has parsed its flags. Loaded only when
// one of them runs: the crypto here (node-forge) is most of what `otp` costs to start.
import { EXIT, InputError } from '../errors.js';
import { Keyring, isBase32Secret, kidsOf, parseAttribute, readSecrets, rekeyValue, secondsLeftInStep, toB64Url, totpCode, type OtpKeyMaterial } from '../otp/index.js';
import { readValueArg, secretFromEnv } from './input.js';
import { keyArgsOf, loadKeyArgs } from './key-options.js';

/** The parsed flags: the value, --json, and the certificate options keyArgsOf reads. */
export type OtpArgs = { value?: string; json?: boolean } & Record<string, unknown>;

export async function inspect(argv: OtpArgs): Promise<number> {
  const value = await readValueArg(argv.value);
  const attr = parseAttribute(value);
  const devices = attr.devices.map((d) => ('kid' in d ? { name: d.name, kid: toB64Url(d.kid) } : { name: d.name }));
  const out = { format: attr.format, devices, kids: [...new Set(kidsOf(value))] };
  print(argv.json === true, out, [`format: ${out.format}`, ...devices.map((d) => `device ${d.name}${'kid' in d ? `  KID ${d.kid}` : ''}`)].join('\n'));
  return EXIT.ok;
}

export async function decrypt(argv: OtpArgs): Promise<number> {
  const value = await readValueArg(argv.value);
  const km = await loadKeyArgs(keyArgsOf(argv), 'certificate');
  // The operator asked to see the secrets: this is the one command whose output holds them.
  const read = readSecrets(value, new Keyring([km]));
  const out = { format: read.format, devices: read.devices };
  print(argv.json === true, out, [`format: ${read.format}`, ...read.devices.map((d) => `${d.name}\t${d.secret}${d.alg ? `\talg=${d.alg}` : ''}`)].join('\n'));
  return EXIT.ok;
}

export async function encrypt(argv: OtpArgs): Promise<number> {
  const km = await loadKeyArgs(keyArgsOf(argv), 'certificate');
  return transform(await readValueArg(argv.value), new Keyring([km]), km, true, argv.json === true);
}

export async function rekey(argv: OtpArgs): Promise<number> {
  const from = await loadKeyArgs({ ...keyArgsOf(argv, 'from'), allowExpired: true }, 'from-certificate');
  const to = await loadKeyArgs(keyArgsOf(argv, 'to'), 'to-certificate');
  return transform(await readValueArg(argv.value), new Keyring([from]), to, false, argv.json === true);
}

export async function code(argv: OtpArgs): Promise<number> {
  const secret = secretFromEnv(argv['secret-env'] as string | undefined, 'TOTP secret');
  if (secret !== undefined && !isBase32Secret(secret.replace(/\s+/g, '').toUpperCase())) {
    throw new InputError(`the TOTP secret in ${String(argv['secret-env'])} is not Base32 (A–Z and 2–7, at least 16 characters)`);
  }
  const devices = secret ? [{ name: 'secret', secret }] : readSecrets(await readValueArg(argv.value), new Keyring([await loadKeyArgs(keyArgsOf(argv), 'certificate')])).devices;
  const codes = devices.map((d) => ({ name: d.name, code: totpCode(d.secret, { alg: d.alg }), secondsLeft: secondsLeftInStep() }));
  print(argv.json === true, codes, codes.map((c) => `${c.name}\t${c.code}\t(${c.secondsLeft}s left)`).join('\n'));
  return EXIT.ok;
}

function transform(value: string, from: Keyring, to: OtpKeyMaterial, includeLegacy: boolean, json: boolean): number {
  const r = rekeyValue(value, { from, to, includeLegacy });
  const stuck = r.devices.filter((d) => d.action === 'unknown-kid' || d.action === 'unreadable');
  if (stuck.length > 0) {
    // A value with a device we cannot move stays as it is: writing half of it would lose nothing
    // today but leave a device the new certificate cannot read.
    throw new InputError(
      stuck
        .map((d) =>
          d.action === 'unknown-kid'
            ? `device "${d.name}": cannot decrypt with this certificate: its KID ${d.kid} is not the source certificate's (${from.kidTexts().join(', ')})`
            : (d.detail ?? `device "${d.name}" is unreadable`),
        )
        .join('\n'),
    );
  }
  if (json) process.stdout.write(`${JSON.stringify({ value: r.value ?? value, changed: r.value !== undefined })}\n`);
  else process.stdout.write(`${r.value ?? value}\n`);
  if (!r.value) process.stderr.write('adc-cutover: the value is already under this certificate; printed unchanged\n');
  return EXIT.ok;
}

function print(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${text}\n`);
}
