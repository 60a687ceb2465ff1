// `run`, `plan`, `resume`, `rollback`, `runs`, `show`: the playbook commands' flags. What they do
// is imported when one of them runs, so that defining them costs the other commands nothing:
// run-playbook.ts (the playbook layer, with every client and the crypto) for run, plan, resume and
// rollback; run-reports.ts (reads files only) for runs and show.
import type { Argv } from 'yargs';
import type { PlanDoc } from '../cutover/execute.js';

type SetCode = (code: number) => void;

const playbook = () => import('./run-playbook.js');
const reports = () => import('./run-reports.js');

/** Given as --no-logon-check: the only way to change bindings on an inventory without a canary. */
const LOGON_CHECK_OPTION = {
  type: 'boolean',
  default: true,
  describe: '--no-logon-check: go on although the inventory has no canary user, so no logon proves users can still log on after the bindings change',
} as const;
const DEFAULT_PLAYBOOK_INVENTORY = 'inventory.yaml';
const BREAK_LOCK = {
  type: 'boolean',
  default: false,
  describe: "remove another run's lock on the appliances (/nsconfig/ssl/adc-cutover.lock): only when you know that run is no longer working on the estate",
} as const;

/** What `resume` and `rollback` take: a run from the journal, and how to go on with it. */
function journalOptions(y: Argv) {
  return y
    .positional('run-id', { type: 'string', describe: 'the run, as adc-cutover runs lists it' })
    .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation (needed without a terminal)' })
    .option('json', { type: 'boolean', describe: 'JSON lines of events on stdout' })
    .option('junit', { type: 'string', describe: 'write a JUnit report' })
    .option('break-lock', BREAK_LOCK);
}

export function registerRun(cli: Argv, setCode: SetCode): void {
  cli
    .command(
      'run <playbook>',
      'run a playbook (e.g. playbooks/otp-cert-cutover.yaml) against an inventory',
      (y) =>
        common(y)
          .option('dry-run', { type: 'boolean', default: false, describe: 'every read and the plan; no write anywhere' })
          .option('yes', { type: 'boolean', default: false, describe: 'do not ask for confirmation' })
          .option('junit', { type: 'string', describe: 'write a JUnit report (one test case per step × appliance)' })
          .option('set', { type: 'string', array: true, default: [], describe: 'override a playbook parameter: --set mode=swap' })
          .option('expect-plan', { type: 'string', describe: 'refuse unless the live plan has this hash (from adc-cutover plan)' })
          .option('logon-check', LOGON_CHECK_OPTION)
          .option('break-lock', BREAK_LOCK)
          .example('$0 run playbooks/otp-cert-cutover.yaml -i inventory.yaml', 'the cutover: the plan is shown and confirmed at the terminal before the first write')
          .example(
            '$0 run playbooks/otp-cert-cutover.yaml -i inventory.yaml --yes --json --expect-plan 3f2a9c0d1e4b5a67',
            'from a pipeline: only if the plan is the one reviewed; JSON lines of events',
          ),
      async (argv) => setCode(await (await playbook()).run(argv)),
    )
    .command(
      'plan <playbook>',
      'read-only: census, current state, what a run would change, and the plan hash',
      (y) =>
        common(y)
          .option('set', { type: 'string', array: true, default: [], describe: 'override a playbook parameter: --set mode=swap' })
          .option('logon-check', LOGON_CHECK_OPTION)
          .example('$0 plan playbooks/otp-cert-cutover.yaml -i inventory.yaml', 'census, live state, what a run would change, and the plan hash')
          .example('$0 plan playbooks/otp-cert-cutover.yaml -i inventory.yaml --json', 'the same as JSON, for review or for run --expect-plan'),
      async (argv) => (await playbook()).plan(argv),
    )
    .command(
      'resume <run-id>',
      'continue an interrupted run from its journal',
      (y) => journalOptions(y).example('$0 resume 20261201T220000Z-a1b2c3', 'continue where the run stopped, asking first').example('$0 resume 20261201T220000Z-a1b2c3 --yes --json', 'from a script'),
      async (argv) => setCode(await (await playbook()).resume(argv)),
    )
    .command(
      'rollback <run-id>',
      'undo a failed, interrupted or finished run',
      (y) =>
        journalOptions(y).example('$0 rollback 20261201T220000Z-a1b2c3', 'undo every change of that run, asking first').example('$0 rollback 20261201T220000Z-a1b2c3 --yes --json', 'from a script'),
      async (argv) => setCode(await (await playbook()).rollback(argv)),
    )
    .command(
      'runs',
      'list the runs in the journal directory',
      (y) => y.option('json', { type: 'boolean', describe: 'print JSON' }).example('$0 runs', 'run ids, status and playbook, oldest first').example('$0 runs --json', 'the same as JSON'),
      async (argv) => (await reports()).runs(argv),
    )
    .command(
      'show <run-id>',
      'explain a run in plain words',
      (y) =>
        y
          .positional('run-id', { type: 'string', describe: 'the run, as adc-cutover runs lists it' })
          .option('json', { type: 'boolean', describe: 'print the report as JSON' })
          .option('html', { type: 'boolean', describe: 'print the path of the HTML change record' })
          .example('$0 show 20261201T220000Z-a1b2c3', 'what the run did, step by step, and what to do now')
          .example('$0 show 20261201T220000Z-a1b2c3 --html', 'the HTML change record to attach to the change ticket'),
      async (argv) => (await reports()).show(argv),
    );
}

function common<T>(y: Argv<T>) {
  return y
    .positional('playbook', { type: 'string', describe: 'playbook YAML file' })
    .option('inventory', { alias: 'i', type: 'string', default: DEFAULT_PLAYBOOK_INVENTORY, describe: 'inventory YAML file' })
    .option('json', { type: 'boolean', describe: 'JSON lines of events on stdout' });
}

export type { PlanDoc };
