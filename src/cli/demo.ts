// `npm run demo`: a newcomer sees the whole job work on one machine — a lab comes up (real slapd,
// simulated appliances), the cutover playbook runs against it with the task list, the report is
// printed, and the lab goes down again, whatever happened. The flags are here; the demo itself is
// in demo-run.ts, loaded when it runs: it needs the lab and the whole playbook layer, which would
// otherwise slow every other command's start-up.
import type { Argv } from 'yargs';

type SetCode = (code: number) => void;

export function registerDemo(cli: Argv, setCode: SetCode): void {
  cli.command(
    'demo',
    'start a lab, run the OTP certificate cutover against it, print the report, stop the lab',
    (y) =>
      y
        .option('users', { type: 'number', default: 500, describe: 'users to seed' })
        .option('appliances', { type: 'number', default: 3, describe: 'simulated appliances' })
        .option('ha', { type: 'boolean', default: true, describe: 'make the first two appliances an HA pair' })
        .option('keep', { type: 'boolean', default: false, describe: 'leave the lab running afterwards (stop it with lab down --dir …)' })
        .option('json', { type: 'boolean', default: false, describe: "print the run's report as JSON on stdout (progress stays on stderr)" })
        .example('$0 demo', 'lab up, the cutover with a live task list, the report, lab down (what npm run demo does)')
        .example('$0 demo --users 5000 --appliances 1 --no-ha --keep', 'a bigger directory on one appliance; the lab stays up to look at'),
    async (argv) => setCode(await (await import('./demo-run.js')).runDemo(argv)),
  );
}
