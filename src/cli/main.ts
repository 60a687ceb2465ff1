#!/usr/bin/env node
// Entry point: the yargs definition of cli.ts, one module per command group (kept thin: parse,
// call, print). Errors become exit codes here and nowhere else.
// Exactly `--version` or `--help` is answered before yargs and the definitions load (fast-path.ts:
// start-up close to Node's own); everything else imports them.
import { AdcError, EXIT } from '../errors.js';
import type { UsageError } from './cli.js';
import { answerWithoutYargs } from './fast-path.js';

/** cli.ts's class once it is loaded; until then nothing can have thrown one. */
let usageError: typeof UsageError | undefined;

async function main(argv: string[]): Promise<number> {
  const answer = answerWithoutYargs(argv);
  if (answer !== undefined) {
    // As with yargs (console.log), a reader gone before the text is written (`| head -0`) is no failure.
    process.stdout.on('error', () => undefined);
    process.stdout.write(answer);
    return EXIT.ok;
  }
  const { buildCli, UsageError } = await import('./cli.js');
  usageError = UsageError;
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
  if (usageError && err instanceof usageError) {
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

// The arguments after `node main.js` (what yargs' hideBin returns under Node), without loading yargs.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
