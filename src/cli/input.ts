// What commands read from the operator: values from an argument or stdin, secrets from an
// environment variable they name or a hidden prompt — never from a command-line value.
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';

export async function readValueArg(value: string | undefined, what = 'value'): Promise<string> {
  if (value === undefined) throw new InputError(`give the ${what} as an argument, or - to read it from stdin`);
  // yargs hands a lone "-" to a string positional as "", so both mean stdin.
  if (value !== '-' && value !== '') return value;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!text) throw new InputError(`no ${what} on stdin`);
  return text;
}

/** A secret from the environment variable the user named; undefined when no variable was named. */
export function secretFromEnv(varName: string | undefined, what: string): string | undefined {
  if (varName === undefined) return undefined;
  const v = process.env[varName];
  if (v === undefined || v === '') throw new InputError(`${what}: environment variable ${varName} is not set or empty`);
  return v;
}

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && process.env['CI'] !== 'true';
}

/** Asks on the terminal without echoing; refuses when nobody is there to answer. */
export async function promptSecret(question: string): Promise<string> {
  if (!isInteractive()) throw new InputError(`${question}: no terminal to ask on; use the matching --…-env option`);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlOut = rl as unknown as { _writeToOutput: (s: string) => void };
  let asked = false;
  rlOut._writeToOutput = (s: string) => {
    if (!asked) process.stderr.write(s); // the question itself; everything after is the secret
  };
  return new Promise((resolve) => {
    rl.question(`${question}: `, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    asked = true;
  });
}

export async function confirm(question: string): Promise<boolean> {
  if (!isInteractive()) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) =>
    rl.question(`${question} [y/N] `, (a) => {
      rl.close();
      resolve(/^y(es)?$/i.test(a.trim()));
    }),
  );
}

/**
 * The one rule for every command that writes: --yes goes ahead; at a terminal the operator is
 * asked; with nobody to ask (a pipe, CI) the command refuses unless --yes was given, so a script
 * always says in its own text that it means to write. Exit 2, nothing changed, when not confirmed.
 */
export async function confirmWrite(yes: boolean | undefined, question: string, command: string): Promise<void> {
  if (yes === true) return;
  if (!isInteractive()) throw new InputError(`${command} writes and there is no terminal to ask on: add --yes to go ahead; nothing was changed`);
  if (!(await confirm(question))) throw new InputError('not confirmed; nothing was changed');
}

/** The same rule where the question comes later (run asks with the plan): refuse early without a terminal. */
export function requireYesWithoutTerminal(yes: boolean | undefined, command: string): void {
  if (yes !== true && !isInteractive()) throw new InputError(`${command} writes and there is no terminal to ask on: add --yes to go ahead; nothing was changed`);
}
