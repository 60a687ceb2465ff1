// `adc-cutover otp …`: one attribute value at a time, for runbooks and for checking by hand.
import type { Argv } from 'yargs';
import { keyOptions } from './key-options.js';

type SetCode = (code: number) => void;

// The commands' work is in otp-actions.ts, imported when one of them runs: that module needs the
// crypto, and loading it here would slow down every command's start-up, --help included.
const actions = () => import('./otp-actions.js');

export function registerOtp(cli: Argv, setCode: SetCode): void {
  cli.command('otp', 'work on one OTP attribute value (inspect, decrypt, encrypt, rekey, code)', (y) =>
    y
      .command(
        'inspect [value]',
        'format, devices and KIDs of a value (no secrets)',
        (a) => jsonOption(valueArg(a)).example(`$0 otp inspect '${EXAMPLE_VALUE}'`, 'format, device names and KIDs').example('$0 otp inspect - --json < value.txt', 'a value from stdin, as JSON'),
        async (argv) => setCode(await (await actions()).inspect(argv)),
      )
      .command(
        'decrypt [value]',
        'show the devices and secrets of a value',
        (a) => jsonOption(keyOptions(valueArg(a))).example('$0 otp decrypt - --cert otp-old.pem --key otp-old.key < value.txt', 'each device and its secret (the one command that prints secrets)'),
        async (argv) => setCode(await (await actions()).decrypt(argv)),
      )
      .command(
        'encrypt [value]',
        'legacy (or encrypted) value → encrypted under this certificate',
        (a) => jsonOption(keyOptions(valueArg(a))).example(`$0 otp encrypt '${EXAMPLE_VALUE}' --cert otp-old.pem --key otp-old.key`, 'the value to write back, encrypted (prints; writes nothing)'),
        async (argv) => setCode(await (await actions()).encrypt(argv)),
      )
      .command(
        'rekey [value]',
        're-encrypt a value from one certificate to another',
        (a) =>
          jsonOption(keyOptions(keyOptions(valueArg(a), 'from'), 'to')).example(
            '$0 otp rekey - --from-cert otp-old.pem --from-key otp-old.key --to-cert otp-new.pem --to-key otp-new.key < value.txt',
            'the value under the new certificate (prints; writes nothing)',
          ),
        async (argv) => setCode(await (await actions()).rekey(argv)),
      )
      .command(
        'code [value]',
        'current TOTP code of each device',
        (a) =>
          jsonOption(keyOptions(valueArg(a), '', false).option('secret-env', { type: 'string', describe: 'environment variable holding a Base32 secret' }))
            .example('$0 otp code --secret-env CANARY_TOTP', 'the code a phone with this secret shows now')
            .example('$0 otp code - --cert otp-new.pem --key otp-new.key < value.txt', 'the code of each device of a directory value'),
        async (argv) => setCode(await (await actions()).code(argv)),
      )
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
