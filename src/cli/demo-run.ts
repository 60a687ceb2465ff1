// What `adc-cutover demo` does, loaded when it runs (demo.ts holds its flags): a lab up, the
// cutover playbook against it, the report, and the lab down again, whatever happened.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDown, labUp } from '../lab/lab.js';
import { runPlaybook } from '../cutover/execute.js';
import { Reporters } from '../runner/events.js';
import { ListrReporter } from '../runner/reporters/listr.js';
import { PlainReporter } from '../runner/reporters/plain.js';
import { formatPlan, formatReport } from './run-format.js';

const PLAYBOOK = fileURLToPath(new URL('../../../playbooks/otp-cert-cutover.yaml', import.meta.url));

export interface DemoArgs {
  users: number;
  appliances: number;
  ha: boolean;
  keep: boolean;
  json: boolean;
}

/** The run's exit code. */
export async function runDemo(argv: DemoArgs): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'adc-cutover-demo-'));
  const labDir = join(root, 'lab');
  const say = (s: string) => process.stderr.write(`${s}\n`);
  try {
    say(`Starting the lab in ${labDir}: slapd with ${argv.users} users, ${argv.appliances} simulated appliance(s)${argv.ha ? ' (adc1+adc2 an HA pair)' : ''}…`);
    const status = await labUp({ dir: labDir, users: argv.users, appliances: argv.appliances, ha: argv.ha, log: (l) => say(`  ${l}`) });
    say('');
    const tty = process.stderr.isTTY && process.env['CI'] !== 'true';
    const result = await runPlaybook({
      playbook: PLAYBOOK,
      inventory: status.inventory,
      reporter: new Reporters([tty ? new ListrReporter() : new PlainReporter()]),
      signal: new AbortController().signal,
      onPlan: (plan) => say(formatPlan(plan)),
    });
    say('');
    say(formatReport(result.report));
    if (argv.json) process.stdout.write(`${JSON.stringify(result.report)}\n`);
    say(`Journal, backup and report: ${result.runDir}`);
    return result.exitCode;
  } finally {
    if (argv.keep) say(`The lab is still running: adc-cutover lab down --dir ${labDir}`);
    else {
      await labDown(labDir).catch((err: Error) => say(`lab down: ${err.message}`));
      rmSync(root, { recursive: true, force: true });
      say('Lab stopped; nothing is left running.');
    }
  }
}
