// `adc-cutover otp …`: one attribute value at a time, for runbooks and for checking by hand.
import type { Argv } from 'yargs';
import { EXIT, InputError } from '../errors.js';
import {
  Keyring, kidsOf, parseAttribute, readSecrets, rekeyValue, secondsLeftInStep, toB64Url, totpCode,
  type OtpKeyMaterial,
} from '../otp/index.js';
import { readValueArg, secretFromEnv } from './input.js';
import { keyArgsOf, keyOptions, loadKeyArgs } from './key-options.js';

type SetCode = (code: number) => void;

export function registerOtp(cli: Argv, setCode: SetCode): void {
  cli.command('otp', 'work on one OTP attribute value (inspect, decrypt, encrypt, rekey, code)', (y) =>
    y
      .command('inspect [value]', 'format, devices and KIDs of a value (no secrets)', (a) => jsonOption(valueArg(a))
        .example(`$0 otp inspect '${EXAMPLE_VALUE}'`, 'format, device names and KIDs')
        .example('$0 otp inspect - --json < value.txt', 'a value from stdin, as JSON'),
        async (argv) => inspect(await readValueArg(argv.value), argv.json === true))
      .command('decrypt [value]', 'show the devices and secrets of a value', (a) => jsonOption(keyOptions(valueArg(a)))
        .example('$0 otp decrypt - --cert otp-old.pem --key otp-old.key < value.txt', 'each device and its secret (the one command that prints secrets)'),
        async (argv) => decrypt(await readValueArg(argv.value), await loadKeyArgs(keyArgsOf(argv), 'certificate'), argv.json === true))
      .command('encrypt [value]', 'legacy (or encrypted) value → encrypted under this certificate', (a) => jsonOption(keyOptions(valueArg(a)))
        .example(`$0 otp encrypt '${EXAMPLE_VALUE}' --cert otp-old.pem --key otp-old.key`, 'the value to write back, encrypted (prints; writes nothing)'),
        async (argv) => {
          const km = await loadKeyArgs(keyArgsOf(argv), 'certificate');
          setCode(transform(await readValueArg(argv.value), new Keyring([km]), km, true, argv.json === true));
        })
      .command('rekey [value]', 're-encrypt a value from one certificate to another', (a) => jsonOption(keyOptions(keyOptions(valueArg(a), 'from'), 'to'))
        .example('$0 otp rekey - --from-cert otp-old.pem --from-key otp-old.key --to-cert otp-new.pem --to-key otp-new.key < value.txt', 'the value under the new certificate (prints; writes nothing)'),
        async (argv) => {
          const from = await loadKeyArgs({ ...keyArgsOf(argv, 'from'), allowExpired: true }, 'from-certificate');
          const to = await loadKeyArgs(keyArgsOf(argv, 'to'), 'to-certificate');
          setCode(transform(await readValueArg(argv.value), new Keyring([from]), to, false, argv.json === true));
        })
      .command('code [value]', 'current TOTP code of each device', (a) =>
        jsonOption(keyOptions(valueArg(a), '', false).option('secret-env', { type: 'string', describe: 'environment variable holding a Base32 secret' }))
          .example('$0 otp code --secret-env CANARY_TOTP', 'the code a phone with this secret shows now')
          .example('$0 otp code - --cert otp-new.pem --key otp-new.key < value.txt', 'the code of each device of a directory value'),
        async (argv) => {
          const secret = secretFromEnv(argv['secret-env'], 'TOTP secret');
          const devices = secret
            ? [{ name: 'secret', secret }]
            : readSecrets(await readValueArg(argv.value), new Keyring([await loadKeyArgs(keyArgsOf(argv), 'certificate')])).devices;
          const codes = devices.map((d) => ({ name: d.name, code: totpCode(d.secret, { alg: d.alg }), secondsLeft: secondsLeftInStep() }));
          print(argv.json === true, codes, codes.map((c) => `${c.name}\t${c.code}\t(${c.secondsLeft}s left)`).join('\n'));
        })
      .demandCommand(1, 'Name an otp command: inspect, decrypt, encrypt, rekey or code.')
      .example('$0 otp inspect - < value.txt', 'format, devices and which certificate (KID) each is under'),
  );
}

/** A legacy (plaintext) value with a made-up secret; encrypted values are long, so the examples read them from a file. */
const EXAMPLE_VALUE = '#@iPhone=JBSWY3DPEHPK3PXP&,';

function jsonOption<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', describe: 'print JSON' });
}

function valueArg<T>(y: Argv<T>) {
  return y.positional('value', { type: 'string', describe: 'the attribute value, or - to read it from stdin' });
}

function inspect(value: string, json: boolean): void {
  const attr = parseAttribute(value);
  const devices = attr.devices.map((d) => ('kid' in d ? { name: d.name, kid: toB64Url(d.kid) } : { name: d.name }));
  const out = { format: attr.format, devices, kids: [...new Set(kidsOf(value))] };
  print(json, out, [`format: ${out.format}`, ...devices.map((d) => `device ${d.name}${'kid' in d ? `  KID ${d.kid}` : ''}`)].join('\n'));
}

function decrypt(value: string, km: OtpKeyMaterial, json: boolean): void {
  // The operator asked to see the secrets: this is the one command whose output holds them.
  const read = readSecrets(value, new Keyring([km]));
  const out = { format: read.format, devices: read.devices };
  print(json, out, [`format: ${read.format}`, ...read.devices.map((d) => `${d.name}\t${d.secret}${d.alg ? `\talg=${d.alg}` : ''}`)].join('\n'));
}

function transform(value: string, from: Keyring, to: OtpKeyMaterial, includeLegacy: boolean, json: boolean): number {
  const r = rekeyValue(value, { from, to, includeLegacy });
  const stuck = r.devices.filter((d) => d.action === 'unknown-kid' || d.action === 'unreadable');
  if (stuck.length > 0) {
    // A value with a device we cannot move stays as it is: writing half of it would lose nothing
    // today but leave a device the new certificate cannot read.
    throw new InputError(stuck.map((d) => d.action === 'unknown-kid'
      ? `device "${d.name}": cannot decrypt with this certificate: its KID ${d.kid} is not the source certificate's (${from.kidTexts().join(', ')})`
      : d.detail ?? `device "${d.name}" is unreadable`).join('\n'));
  }
  if (json) process.stdout.write(`${JSON.stringify({ value: r.value ?? value, changed: r.value !== undefined })}\n`);
  else process.stdout.write(`${r.value ?? value}\n`);
  if (!r.value) process.stderr.write('adc-cutover: the value is already under this certificate; printed unchanged\n');
  return EXIT.ok;
}

function print(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${text}\n`);
}
