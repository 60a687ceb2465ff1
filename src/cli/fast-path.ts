// `adc-cutover --version` and `adc-cutover --help` without yargs: loading yargs and the command
// definitions, then rendering the help (cliui measures every string), took twice as long as Node's
// own start-up. The version is package.json's, as yargs prints it; the help is yargs' own text,
// rendered by the build (prerender-help.ts) from the same definitions, so the two cannot drift;
// test/cli/fast-path.test.ts compares them byte for byte. This module imports nothing but node:fs.
import { readFileSync } from 'node:fs';

/** The columns yargs wraps the help to: the terminal's, at most 110; 100 without one (piped, CI). */
export function helpWidth(): number {
  return Math.min(110, process.stdout.columns ?? 100);
}

/** The widths the build renders the top-level help for: no terminal, and a terminal of 110 columns or more. */
export const PRERENDERED_WIDTHS: readonly number[] = [100, 110];

/** Where the build puts the top-level help rendered at this width: next to this module in dist. */
export function prerenderedHelpFile(width: number): URL {
  return new URL(`help-${width}.txt`, import.meta.url);
}

/**
 * What the CLI prints for exactly `--version` or `--help` (no other argument), or undefined when
 * yargs must answer: other arguments, a width not rendered, or no rendered file (tsc run alone).
 */
export function answerWithoutYargs(args: readonly string[]): string | undefined {
  if (args.length !== 1) return undefined;
  try {
    if (args[0] === '--version') {
      const version = packageVersion();
      return version === undefined ? undefined : `${version}\n`;
    }
    if (args[0] === '--help') {
      const width = helpWidth();
      return PRERENDERED_WIDTHS.includes(width) ? readFileSync(prerenderedHelpFile(width), 'utf8') : undefined;
    }
  } catch {
    // A file missing or unreadable: yargs answers as it always did.
  }
  return undefined;
}

/**
 * adc-cutover's own version. yargs, left to itself, reads the package.json above the
 * node_modules that holds yargs: installed as a project's dependency, that is the project's.
 */
export function packageVersion(): string | undefined {
  // The nearest package.json above this module: the package's root, where npm always ships it
  // (two levels up from src/cli when tests run the sources, three from dist/src/cli).
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    let text: string;
    try {
      text = readFileSync(new URL('package.json', dir), 'utf8');
    } catch {
      continue;
    }
    const { version } = JSON.parse(text) as { version?: unknown };
    return typeof version === 'string' ? version : undefined;
  }
  return undefined;
}
