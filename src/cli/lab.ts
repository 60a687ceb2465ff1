// `adc-cutover lab up|status|down|fault`: the embedded lab (real slapd + ADC simulator).
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import { DEFAULT_LAB_DIR, type LabStatus } from '../lab/lab-layout.js';

type SetCode = (code: number) => void;

// Each handler imports the lab when it runs: src/lab/lab.ts brings slapd, the simulator, the PKI
// and the inventory writer, which no other command (nor --help) needs at start-up.
const lab = () => import('../lab/lab.js');

function dirOption<T>(y: Argv<T>) {
  return y.option('dir', { type: 'string', default: DEFAULT_LAB_DIR, describe: 'lab directory' });
}

export function registerLab(cli: Argv, _setCode: SetCode): void {
  cli.command('lab', 'the embedded lab: a real slapd and simulated ADCs on this machine (up, status, down, fault)', (y) =>
    y
      .command(
        'up',
        'start the lab and wait until everything answers',
        (a) =>
          dirOption(a)
            .option('users', { type: 'number', default: 200, describe: 'users to seed (besides the canaries)' })
            .option('canaries', { type: 'number', default: 3, describe: 'canary users for the logon checks (canary, canary2, …); each is one more check per gateway in a TOTP step without waiting' })
            .option('appliances', { type: 'number', describe: 'simulated appliances (default 1, or 2 with --ha)' })
            .option('ha', { type: 'boolean', default: false, describe: 'make the first two appliances an HA pair' })
            .option('firmware', {
              type: 'string',
              default: 'multi',
              describe:
                'firmware profile (docs/fidelity.md): multi (several userDataEncryptionKeys), single (one at a time), rows-certkeyname, rows-no-echo; per appliance as a list (multi,single,multi), or mixed (multi/single alternating by inventory target)',
            })
            .option('replicas', {
              type: 'number',
              default: 1,
              describe: 'directory servers: dc1 takes the writes, dc2… replicate from it (syncrepl, through a delaying relay); appliance N reads server N mod replicas',
            })
            .option('replication-delay', { type: 'string', default: '10s', describe: 'how late every change reaches a replica (e.g. 10s, 500ms, 2m)' })
            .option('otp-attribute', { type: 'string', describe: "the OTP attribute the appliances' LDAP actions name (default userParameters, the one seeded); per appliance as a list" })
            .option('json', { type: 'boolean', describe: 'print the status as JSON' })
            .example('$0 lab up --appliances 3 --ha', 'three simulated appliances, adc1+adc2 an HA pair; the inventory is .adc-cutover/lab/inventory.yaml')
            .example('$0 lab up --dir /tmp/lab --users 5000 --firmware single --json', 'a bigger directory, appliances that hold one key, the status as JSON'),
        async (argv) => {
          const otpAttribute = argv['otp-attribute'];
          const [{ labUp, parseFirmwareOption }, { parseDelay }] = await Promise.all([lab(), import('../lab/lab-directory.js')]);
          const status = await labUp({
            dir: argv.dir,
            users: argv.users,
            canaries: argv.canaries,
            ha: argv.ha,
            firmware: parseFirmwareOption(argv.firmware),
            replicas: argv.replicas,
            replicationDelaySec: parseDelay(argv['replication-delay']),
            ...(otpAttribute !== undefined ? { otpAttribute } : {}),
            ...(argv.appliances !== undefined ? { appliances: argv.appliances } : {}),
            log: (line) => process.stderr.write(`lab: ${line}\n`),
          });
          printStatus(status, argv.json === true);
        },
      )
      .command(
        'status',
        'where everything is (secrets are files; none is printed)',
        (a) =>
          dirOption(a)
            .option('json', { type: 'boolean', describe: 'print the status as JSON' })
            .example('$0 lab status', 'URLs, files and processes of the lab in .adc-cutover/lab')
            .example('$0 lab status --dir /tmp/lab --json', 'the same as JSON, for scripts'),
        async (argv) => {
          const { labStatus, labProcesses } = await lab();
          const status = labStatus(argv.dir);
          if (argv.json === true) {
            printStatus(status, true);
            return;
          }
          printStatus(status, false);
          for (const p of labProcesses(argv.dir)) process.stdout.write(`${p.name}\tpid ${p.pid}\t${p.running ? 'running' : 'NOT RUNNING'}\n`);
        },
      )
      .command(
        'down',
        'stop every lab process (by pid) and check nothing is left listening',
        (a) =>
          dirOption(a)
            .option('json', { type: 'boolean', describe: 'print what was stopped as JSON' })
            .example('$0 lab down', 'stop the lab in .adc-cutover/lab')
            .example('$0 lab down --dir /tmp/lab --json', 'stop another lab; what was stopped as JSON'),
        async (argv) => {
          const { labDown } = await lab();
          const { stopped } = await labDown(argv.dir);
          if (argv.json === true) process.stdout.write(`${JSON.stringify({ stopped })}\n`);
          else for (const s of stopped) process.stdout.write(`${s.name}\tpid ${s.pid}\t${s.outcome}\n`);
        },
      )
      .command(
        'fault',
        'make a simulated appliance fail the next matching NITRO request(s)',
        (a) =>
          dirOption(a)
            .option('appliance', { type: 'string', demandOption: true, describe: 'appliance name, e.g. adc1' })
            .option('on', { type: 'string', demandOption: true, describe: 'request to fail: "METHOD resource[?action]", e.g. "POST nsconfig?action=save"' })
            .option('errorcode', { type: 'number', describe: 'answer with this NITRO errorcode' })
            .option('drop', { type: 'boolean', describe: 'close the connection without an answer' })
            .option('delay', { type: 'number', describe: 'answer after this many milliseconds' })
            .option('hold-until', { type: 'string', describe: 'a write: no answer, applied only after a later "METHOD resource[?action]" request is served' })
            .option('times', { type: 'number', default: 1, describe: 'how many matching requests' })
            .option('skip', { type: 'number', default: 0, describe: "let this many matching requests through first (e.g. 1: not the run's lock upload, the certificate upload after it)" })
            .option('json', { type: 'boolean', describe: 'print the fault set as JSON' })
            .example('$0 lab fault --appliance adc2 --on "POST sslcertkey" --errorcode 1536', 'the next certkey add on adc2 fails with NITRO errorcode 1536')
            .example(
              '$0 lab fault --appliance adc1 --on "DELETE vpnglobal_sslcertkey_binding" --hold-until "POST nsconfig?action=save"',
              'an unbind that gets no reply and lands only after a later save',
            ),
        async (argv) => {
          const holdUntil = argv['hold-until'];
          const chosen = [argv.errorcode !== undefined, argv.drop === true, argv.delay !== undefined, holdUntil !== undefined].filter(Boolean).length;
          if (chosen !== 1) throw new InputError('lab fault: give exactly one of --errorcode N, --drop, --delay MS or --hold-until "METHOD resource"');
          if (!/^(GET|POST|PUT|DELETE) \S+$/.test(argv.on)) throw new InputError(`lab fault: --on "${argv.on}" is not "METHOD resource[?action]"`);
          if (holdUntil !== undefined && !/^(GET|POST|PUT|DELETE) \S+$/.test(holdUntil)) throw new InputError(`lab fault: --hold-until "${holdUntil}" is not "METHOD resource[?action]"`);
          if (holdUntil !== undefined && argv.on.startsWith('GET ')) throw new InputError('lab fault: --hold-until holds a write; a GET has nothing to apply late');
          if (!Number.isInteger(argv.times) || argv.times < 1) throw new InputError('lab fault: --times must be a whole number ≥ 1');
          if (!Number.isInteger(argv.skip) || argv.skip < 0) throw new InputError('lab fault: --skip must be a whole number ≥ 0');
          const { labFault } = await lab();
          await labFault(argv.dir, argv.appliance, {
            on: argv.on,
            times: argv.times,
            ...(argv.skip > 0 ? { skip: argv.skip } : {}),
            ...(argv.errorcode !== undefined ? { errorcode: argv.errorcode } : {}),
            ...(argv.drop === true ? { drop: true } : {}),
            ...(argv.delay !== undefined ? { delayMs: argv.delay } : {}),
            ...(holdUntil !== undefined ? { holdUntil } : {}),
          });
          if (argv.json === true) process.stdout.write(`${JSON.stringify({ appliance: argv.appliance, on: argv.on, times: argv.times, skip: argv.skip })}\n`);
          else process.stdout.write(`fault set on ${argv.appliance}: ${argv.on} (${argv.times}×${argv.skip > 0 ? `, after ${argv.skip} let through` : ''})\n`);
        },
      )
      .demandCommand(1, 'Name a lab command: up, status, down or fault.')
      .example('$0 lab up && $0 plan playbooks/otp-cert-cutover.yaml -i .adc-cutover/lab/inventory.yaml', 'a lab, and what the cutover would do to it')
      .example('$0 lab down', 'stop it again'),
  );
}

function printStatus(s: LabStatus, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const lines = [
    `directory   ${s.directory.url}  ${s.directory.ldapsUrl}  (CA ${s.directory.caFile})`,
    `            bind ${s.directory.bindDN}  password file ${s.directory.passwordFile}  attribute ${s.directory.attribute}`,
    ...(s.servers ?? []).map((d) => `server      ${d.name}  ${d.url}  ${d.ldapsUrl}${d.name === 'dc1' ? '  (takes the writes)' : '  (replica)'}  pid ${d.pid}`),
    ...s.appliances.map(
      (a) =>
        `appliance   ${a.name}  NITRO ${a.nitroUrl}  gateway ${a.gatewayUrl}  ${a.profile ?? a.firmware}${a.haPeer ? `  HA peer ${a.haPeer}` : ''}  (${a.username}, password file ${a.passwordFile})`,
    ),
    `old cert    ${s.certs.old.cert}  (certkey ${s.certs.old.certkey}, bound as userDataEncryptionKey)`,
    `new cert    ${s.certs.new.cert}  key ${s.certs.new.key}`,
    ...(s.canaries ?? [s.canary]).map((c) => `canary      ${c.sAMAccountName}  ${c.dn}  (password ${c.passwordFile}, TOTP secret ${c.totpSecretFile})`),
    `inventory   ${s.inventory}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
