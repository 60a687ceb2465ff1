// `--version` and `--help` alone are answered without yargs (src/cli/fast-path.ts), the help from
// text the build rendered: this fails when that text is not what yargs renders from the
// definitions now (a command changed and the build did not run; `npm test` builds first).
// test/cli/startup-imports.test.ts checks that these answers load no npm package at all.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { printedByYargs } from '../../src/cli/docs.js';
import { PRERENDERED_WIDTHS } from '../../src/cli/fast-path.js';
import { runCli } from '../helpers/cli.js';

const rendered = (width: number): string => fileURLToPath(new URL(`../../dist/src/cli/help-${width}.txt`, import.meta.url));

it.each(PRERENDERED_WIDTHS)('the help rendered by the build for %i columns is what yargs prints at that width', async (width) => {
  expect(existsSync(rendered(width))).toBe(true);
  expect(readFileSync(rendered(width), 'utf8')).toBe(await printedByYargs(['--help'], width));
});

it('adc-cutover --help prints, byte for byte, what yargs prints (no terminal: 100 columns)', async () => {
  const r = await runCli(['--help']);
  expect(r).toEqual({ code: 0, stdout: await printedByYargs(['--help'], 100), stderr: '' });
});

it("adc-cutover --version prints, byte for byte, what yargs prints: package.json's version", async () => {
  const r = await runCli(['--version']);
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  expect(r.stdout).toBe(await printedByYargs(['--version'], 100));
});
