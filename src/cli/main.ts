#!/usr/bin/env node
// Entry point: the yargs definition of cli.ts, one module per command group (kept thin: parse,
// call, print). Errors become exit codes here and nowhere else.
import { hideBin } from 'yargs/helpers';
import { AdcError, EXIT } from '../errors.js';
import { buildCli, UsageError } from './cli.js';

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const cli = buildCli(argv, (c) => (code = c));
  try {
    await cli.parseAsync();
  } catch (err) {
    return reportError(err);
  }
  return code;
}

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
