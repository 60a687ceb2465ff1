#!/usr/bin/env node
// Entry point: one yargs instance, one module per command group (kept thin: parse,
// call, print). Errors become exit codes here and nowhere else.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { AdcError, EXIT } from '../errors.js';
import { registerOtp } from './otp.js';
import { registerDirectory } from './directory.js';
import { registerLab } from './lab.js';
import { registerLogonCheck } from './logon-check.js';
import { registerRun } from './run.js';
import { registerDemo } from './demo.js';
import { registerOtptool } from './otptool.js';

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const cli = yargs(argv)
    .scriptName('adc-cutover')
    .usage('$0 <command> [options]\n\nNetScaler ADC change windows: the Native OTP encryption-certificate cutover, safely.')
    .strict()
    .demandCommand(1, 'Name a command (see --help).')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .help();
  registerOtp(cli, (c) => (code = c));
  registerDirectory(cli, (c) => (code = c));
  registerLab(cli, (c) => (code = c));
  registerLogonCheck(cli, (c) => (code = c));
  registerRun(cli, (c) => (code = c));
  registerDemo(cli, (c) => (code = c));
  registerOtptool(cli, (c) => (code = c));
  try {
    await cli.parseAsync();
  } catch (err) {
    return reportError(err);
  }
  return code;
}

class UsageError extends Error {}

function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`adc-cutover: ${err.message}\nRun 'adc-cutover --help' for usage.\n`);
    return EXIT.invalidInput;
  }
  if (err instanceof AdcError) {
    process.stderr.write(`adc-cutover: ${err.message}\n`);
    return err.exitCode;
  }
  // An unexpected failure: keep the stack for a bug report but say plainly what happened.
  process.stderr.write(`adc-cutover: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failedRolledBack;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
