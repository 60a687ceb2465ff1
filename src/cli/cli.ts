// The whole command line as one yargs definition: main.ts runs it, docs.ts renders docs/cli.md
// from it, and `completion` completes from it, so the three cannot drift apart.
// Every command runs this first (bare --version and --help excepted: fast-path.ts answers them
// with text the build rendered from here), so the modules registered here hold only flags: each
// handler imports what its command does when it runs (test/cli/startup-imports checks that none
// of the heavy packages loads before then; bench/startup.ts times start-up).
import yargs, { type Argv } from 'yargs';
import { helpWidth, packageVersion } from './fast-path.js';
import { registerOtp } from './otp.js';
import { registerDirectory } from './directory.js';
import { registerLab } from './lab.js';
import { registerLogonCheck } from './logon-check.js';
import { registerRun } from './run.js';
import { registerDemo } from './demo.js';
import { registerOtptool } from './otptool.js';

export class UsageError extends Error {}

export const EXIT_CODES_TEXT = [
  'Exit codes:',
  '  0    done',
  '  1    failed and rolled back cleanly',
  '  2    invalid input or preflight refused (nothing changed)',
  '  3    a person must act: the rollback is incomplete, or users cannot log on through some appliance (the report says who and what to do)',
  '  4    done, with appliances left out within the failure budget (users already moved cannot log on through them until they are fixed; see the report)',
  '  130  interrupted (journal kept: resume or rollback)',
].join('\n');

export interface CliOptions {
  /** Columns for --help; docs/cli.md uses a fixed width so it does not depend on a terminal. */
  wrap?: number;
}

export function buildCli(argv: string[], setCode: (code: number) => void, opts: CliOptions = {}): Argv {
  const cli = yargs(argv)
    .scriptName('adc-cutover')
    // One language for the help, whatever LANG says: the text around yargs' labels is English, and
    // docs/cli.md must come out the same on every machine.
    .locale('en')
    .usage(`$0 <command> [options]\n\nNetScaler ADC change windows: the Native OTP encryption-certificate cutover, safely.\n\n${EXIT_CODES_TEXT}`)
    .strict()
    .demandCommand(1, 'Name a command (see --help).')
    .recommendCommands()
    // fast-path.ts prints a help rendered at build time only when it was rendered at this width.
    .wrap(opts.wrap ?? helpWidth())
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .example('$0 plan playbooks/otp-cert-cutover.yaml -i inventory.yaml', 'what a run would change, read-only')
    .example('$0 run playbooks/otp-cert-cutover.yaml -i inventory.yaml', 'the cutover, asking before the first write')
    .version(packageVersion() ?? 'unknown')
    .help();
  registerOtp(cli, setCode);
  registerDirectory(cli, setCode);
  registerLab(cli, setCode);
  registerLogonCheck(cli, setCode);
  registerRun(cli, setCode);
  registerDemo(cli, setCode);
  registerOtptool(cli, setCode);
  cli.completion('completion', 'print the shell completion script (bash, zsh): adc-cutover completion >> ~/.bashrc');
  return cli;
}
