// `adc-cutover directory census|rekey|encrypt|decrypt|restore`: the vendor tool's three jobs and
// more, against the directory directly. Thin: parse flags (or take them from the inventory, as
// `run` does), connect, call the engine, print. This module holds the flags; directory-jobs.ts the rest.
import type { Argv } from 'yargs';
import { keyOptions } from './key-options.js';
import { DEFAULT_CONCURRENCY } from '../rekey/defaults.js';

type SetCode = (code: number) => void;

// The jobs themselves are in directory-jobs.ts, imported when one runs: the LDAP client, crypto and
// inventory parser it needs would otherwise load for every command, --help included.
const jobs = () => import('./directory-jobs.js');

// No yargs defaults on what the inventory can give: yargs would count a default as given, and it
// would override the inventory. The defaults are applied in resolveConn, after the inventory.
function connOptions<T>(y: Argv<T>) {
  return y
    .option('inventory', {
      alias: 'i',
      type: 'string',
      describe: 'inventory YAML: the directory (URL, bind DN, password reference, CA, base, filter, attribute) and the certificates; the flags below override it',
      group: 'Directory:',
    })
    .option('url', { type: 'string', describe: 'directory URL: ldaps://host:636 or ldap://host:389', group: 'Directory:' })
    .option('bind-dn', { type: 'string', describe: "service account DN (the ADC's LDAP bind DN)", group: 'Directory:' })
    .option('password-env', { type: 'string', describe: 'environment variable holding the bind password', group: 'Directory:' })
    .option('ca', { type: 'string', describe: "PEM file of the CA that signed the directory's certificate", group: 'Directory:' })
    .option('start-tls', { type: 'boolean', describe: 'StartTLS on an ldap:// URL [default: false]', group: 'Directory:' })
    .option('base', { type: 'string', describe: 'search base', group: 'Directory:' })
    .option('filter', { type: 'string', describe: "search filter (the attribute's presence is added) [default: (objectClass=user)]", group: 'Directory:' })
    .option('attribute', { type: 'string', describe: 'the OTP attribute (-OTPSecret); default userParameters, for restore the one the backup names', group: 'Directory:' })
    .option('page-size', { type: 'number', describe: 'paged search page size [default: 500]', group: 'Directory:' })
    .option('timeout', { type: 'number', default: 30, describe: 'seconds per LDAP operation', group: 'Directory:' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

function writeOptions<T>(y: Argv<T>) {
  return y
    .option('concurrency', { type: 'number', describe: `writer connections [default: the inventory's, else ${DEFAULT_CONCURRENCY}]` })
    .option('rate', { type: 'number', describe: 'at most this many entries per second' })
    .option('crypto-workers', {
      type: 'number',
      describe: 'worker threads for re-encryption and the check before each write; pays only with a core to spare beyond this process and a local directory (README: Performance) [default: 0, none]',
    })
    .option('max-failures', { type: 'number', describe: 'stop once more entries than this failed' })
    .option('max-failure-ratio', { type: 'number', describe: 'stop once more than this share (0-1) of entries failed' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read and decide, write nothing' })
    .option('backup', { type: 'string', describe: 'backup file to create (default .adc-cutover/backups/<job>-<time>.jsonl)' })
    .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation (needed without a terminal)' });
}

export function registerDirectory(cli: Argv, setCode: SetCode): void {
  cli.command('directory', 'the directory jobs: census, rekey, encrypt, decrypt, restore', (y) =>
    y
      .command(
        'census',
        'count values per KID, legacy, unreadable, empty, multi-valued (reads only)',
        (a) =>
          keyOptions(connOptions(a), '', false)
            .option('extra-attribute', { type: 'string', array: true, describe: 'other attributes to count (KBA, alternate e-mail)' })
            .example('$0 directory census -i inventory.yaml', 'the directory and both certificates from the inventory')
            .example(
              '$0 directory census --url ldaps://dc1.example.com --bind-dn "CN=svc-adc,OU=Service,DC=example,DC=com" --password-env LDAP_PW --ca ca.pem --base "DC=example,DC=com" --cert otp-old.pem',
              'the same with flags',
            ),
        async (parsed) => setCode(await (await jobs()).census(parsed)),
      )
      .command(
        'rekey',
        're-encrypt every device from the old certificate to the new one',
        (a) =>
          writeOptions(keyOptions(keyOptions(connOptions(a), 'from', false), 'to', false))
            .option('include-legacy', { type: 'boolean', default: false, describe: 'also encrypt legacy plaintext values' })
            .example('$0 directory rekey -i inventory.yaml --dry-run', 'what would change: certificates.old to certificates.new, nothing written')
            .example('$0 directory rekey -i inventory.yaml --yes --rate 200', 'do it, at most 200 entries a second, without asking'),
        async (parsed) => setCode(await (await jobs()).rekey(parsed)),
      )
      .command(
        'encrypt',
        'legacy plaintext values → encrypted under this certificate',
        (a) =>
          writeOptions(keyOptions(connOptions(a)))
            .example('$0 directory encrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --dry-run', 'which legacy values would be encrypted under the certificate in force')
            .example('$0 directory encrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --yes', 'encrypt them, without asking'),
        async (parsed) => setCode(await (await jobs()).encrypt(parsed)),
      )
      .command(
        'decrypt',
        'encrypted values → legacy plaintext (secrets readable in the directory)',
        (a) =>
          writeOptions(keyOptions(connOptions(a)))
            .example('$0 directory decrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --dry-run', 'how many values would be written in plaintext')
            .example('$0 directory decrypt -i inventory.yaml --cert otp-old.pem --key otp-old.key --yes', 'back to plaintext (a downgrade), without asking'),
        async (parsed) => setCode(await (await jobs()).decrypt(parsed)),
      )
      .command(
        'restore <backup-file>',
        'put back the originals from a backup where the value is still what the run wrote',
        (a) =>
          keyOptions(keyOptions(connOptions(a).positional('backup-file', { type: 'string', demandOption: true }), '', false), 'new', false)
            .option('reencrypt-changed', { type: 'boolean', default: false, describe: 'entries changed since the run: re-encrypt their devices under --cert (needs --new-cert)' })
            .option('concurrency', { type: 'number', describe: `writer connections [default: the inventory's, else ${DEFAULT_CONCURRENCY}]` })
            .option('dry-run', { type: 'boolean', default: false, describe: 'read and decide, write nothing' })
            .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation (needed without a terminal)' })
            .example('$0 directory restore .adc-cutover/backups/rekey-2026-12-01T22-00-00-000Z.jsonl -i inventory.yaml --dry-run', 'what would be put back (certificates from the inventory)')
            .example('$0 directory restore backup.jsonl -i inventory.yaml --reencrypt-changed --yes', 'put back, and move devices enrolled since the run to the old certificate'),
        async (parsed) => setCode(await (await jobs()).restore(parsed)),
      )
      .demandCommand(1, 'Name a directory command: census, rekey, encrypt, decrypt or restore.')
      .example('$0 directory census -i inventory.yaml', 'count the devices per certificate')
      .example('$0 directory rekey -i inventory.yaml --dry-run', 'what a re-encryption would change'),
  );
}
