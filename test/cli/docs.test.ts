// docs/cli.md is generated from the yargs definitions (npm run docs:cli), and shell completion
// comes from the same definitions: neither can drift from what the CLI really takes.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { renderCliDoc } from '../../src/cli/docs.js';
import { runCli } from '../helpers/cli.js';

const DOC = fileURLToPath(new URL('../../docs/cli.md', import.meta.url));

it('docs/cli.md is exactly what the definitions generate (run `npm run docs:cli` after changing a command)', async () => {
  const generated = await renderCliDoc();
  const committed = readFileSync(DOC, 'utf8');
  // Compare line by line first, so a failure names the first line that differs.
  const a = committed.split('\n');
  const b = generated.split('\n');
  const first = a.findIndex((line, i) => line !== b[i]);
  expect(first === -1 ? null : { line: first + 1, inDocs: a[first], generated: b[first] }).toBeNull();
  expect(committed).toBe(generated);
});

it('the page lists every command with its examples, and every exit code', async () => {
  const doc = await renderCliDoc();
  for (const c of [
    'run',
    'plan',
    'resume',
    'rollback',
    'runs',
    'show',
    'directory census',
    'directory rekey',
    'directory encrypt',
    'directory decrypt',
    'directory restore',
    'otp inspect',
    'otp code',
    'lab up',
    'lab down',
    'logon-check',
    'demo',
    'otptool',
    'completion',
  ]) {
    expect(doc).toContain(`## adc-cutover ${c}\n`);
  }
  // Each yargs command's help ends with its examples.
  const helps = doc
    .split('\n## ')
    .slice(1)
    .filter((s) => !/^adc-cutover (otptool|completion)\n/.test(s));
  for (const h of helps) expect(h.replace(/\n```\n*$/, ''), h.split('\n')[0]).toMatch(/\nExamples:\n {2}adc-cutover [^\n]+(\n[^\n]+)*$/);
  for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '130 ']) expect(doc).toMatch(new RegExp(`\\n {2}${code} +\\S`));
  expect(doc).toMatch(/4 +done, with appliances left out within the failure budget/);
});

it('completion: the script, and completions taken from the definitions', async () => {
  const script = await runCli(['completion']);
  expect(script.code).toBe(0);
  expect(script.stdout).toMatch(/adc-cutover --get-yargs-completions/);
  const sub = await runCli(['--get-yargs-completions', 'directory', '']);
  expect(sub.stdout.trim().split('\n')).toEqual(['census', 'rekey', 'encrypt', 'decrypt', 'restore']);
  const opts = await runCli(['--get-yargs-completions', 'directory', 'rekey', '--inv']);
  expect(opts.stdout).toMatch(/--inventory/);
});
