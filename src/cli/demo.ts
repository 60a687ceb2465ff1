// `npm run demo`: a newcomer sees the whole job work on one machine — a lab comes up (real slapd,
// simulated appliances), the cutover playbook runs against it with the task list, the report is
// printed, and the lab goes down again, whatever happened.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { labDown, labUp } from '../lab/lab.js';
import { runPlaybook } from '../cutover/execute.js';
import { Reporters } from '../runner/events.js';
import { ListrReporter } from '../runner/reporters/listr.js';
import { PlainReporter } from '../runner/reporters/plain.js';
import { formatPlan, formatReport } from './run-format.js';

type SetCode = (code: number) => void;
const PLAYBOOK = fileURLToPath(new URL('../../../playbooks/otp-cert-cutover.yaml', import.meta.url));

export function registerDemo(cli: Argv, setCode: SetCode): void {
  cli.command('demo', 'start a lab, run the OTP certificate cutover against it, print the report, stop the lab', (y) =>
    y.option('users', { type: 'number', default: 500, describe: 'users to seed' }).option('appliances', { type: 'number', default: 3, describe: 'simulated appliances' })
      .option('ha', { type: 'boolean', default: true, describe: 'make the first two appliances an HA pair' })
      .option('keep', { type: 'boolean', default: false, describe: 'leave the lab running afterwards (stop it with lab down --dir …)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the run\'s report as JSON on stdout (progress stays on stderr)' })
      .example('$0 demo', 'lab up, the cutover with a live task list, the report, lab down (what npm run demo does)')
      .example('$0 demo --users 5000 --appliances 1 --no-ha --keep', 'a bigger directory on one appliance; the lab stays up to look at'),
  async (argv) => {
    const root = mkdtempSync(join(tmpdir(), 'adc-cutover-demo-'));
    const labDir = join(root, 'lab');
    const say = (s: string) => process.stderr.write(`${s}\n`);
    try {
      say(`Starting the lab in ${labDir}: slapd with ${argv.users} users, ${argv.appliances} simulated appliance(s)${argv.ha ? ' (adc1+adc2 an HA pair)' : ''}…`);
      const status = await labUp({ dir: labDir, users: argv.users, appliances: argv.appliances, ha: argv.ha, log: (l) => say(`  ${l}`) });
      say('');
      const tty = process.stderr.isTTY && process.env['CI'] !== 'true';
      const result = await runPlaybook({
        playbook: PLAYBOOK, inventory: status.inventory, reporter: new Reporters([tty ? new ListrReporter() : new PlainReporter()]),
        signal: new AbortController().signal, onPlan: (plan) => say(formatPlan(plan)),
      });
      say('');
      say(formatReport(result.report));
      if (argv.json) process.stdout.write(`${JSON.stringify(result.report)}\n`);
      say(`Journal, backup and report: ${result.runDir}`);
      setCode(result.exitCode);
    } finally {
      if (argv.keep) say(`The lab is still running: adc-cutover lab down --dir ${labDir}`);
      else {
        await labDown(labDir).catch((err: Error) => say(`lab down: ${err.message}`));
        rmSync(root, { recursive: true, force: true });
        say('Lab stopped; nothing is left running.');
      }
    }
  });
}
