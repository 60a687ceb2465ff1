// `adc-cutover logon-check`: one OTP logon through one gateway, now — or, with -i inventory, one
// through every gateway of the inventory with a canary of its pool, as a run's logon-check step
// does. Secrets come only from environment variables the operator names, a prompt, or the
// inventory's references; the result never contains them.
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import type { FlowChoice } from '../gateway/index.js';
import { keyArgsOf, keyOptions } from './key-options.js';

type SetCode = (code: number) => void;

export function registerLogonCheck(cli: Argv, setCode: SetCode): void {
  cli.command(
    'logon-check',
    'one OTP logon through a gateway, now (nFactor, or the classic page)',
    (y) =>
      keyOptions(y, '', false)
        .option('inventory', {
          alias: 'i',
          type: 'string',
          describe: 'inventory YAML: log on through every gateway it lists, each time with a canary of its pool not used in this TOTP step (gateway TLS and canary secrets from the inventory)',
        })
        .option('gateway', { type: 'string', describe: "gateway URL, e.g. https://gw.example.com (with -i: only this one of the inventory's)" })
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
        .example(
          '$0 logon-check --gateway https://gw.example.com --user canary --password-env CANARY_PW --totp-secret-env CANARY_TOTP --ca ca.pem',
          'the canary logs on with a code from its TOTP secret, then off',
        ),
    async (argv) => {
      // keyOptions names its options by computed strings, which widens yargs' inferred type.
      const a = argv as unknown as ParsedArgv;
      // Each kind of check is imported only now: they bring the HTTP client and the crypto (and with
      // -i the inventory parser), which defining the command must not load for every other command.
      if (a.inventory !== undefined) {
        const { runInventoryLogonCheck } = await import('./logon-check-inventory.js');
        setCode(await runInventoryLogonCheck({ inventory: a.inventory, gateway: a.gateway, user: a.user, timeout: a.timeout, json: a.json }));
        return;
      }
      if (!a.gateway) throw new InputError('--gateway is required (or -i inventory)');
      if (!a.user) throw new InputError('--user is required (or -i inventory)');
      const { runLogonCheck } = await import('./logon-check-gateway.js');
      setCode(
        await runLogonCheck({
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
        }),
      );
    },
  );
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
