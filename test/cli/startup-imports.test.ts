// The command definitions stay light: a command's --help and completion load yargs and the
// definitions, and none of what the commands do (HTTP, SSH and LDAP clients, crypto, YAML and
// schema parsers, the task list): each handler imports its work when it runs. --version and
// --help alone load not even yargs: main.ts answers them from text the build rendered
// (test/cli/fast-path.test.ts checks it is yargs' own). How long start-up takes is for
// bench/startup.ts to say; this checks its cause, which does not depend on how busy the machine is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const RECORDER = fileURLToPath(new URL('../helpers/record-imports.mjs', import.meta.url));
const HEAVY = ['ssh2', 'node-forge', 'otpauth', 'listr2', 'zod', 'yaml', 'ldapts'];
/** Our own module of that kind: the HTTP client (it brings node:http, node:https and TLS). */
const isHttpClient = (m: string): boolean => m.startsWith('src/http/');
const dir = mkdtempSync(join(tmpdir(), 'adc-startup-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** The npm packages and the modules of ours (as src/…) a run of the CLI with these arguments imports, and its exit code. */
function packagesImported(args: string[], env: Record<string, string> = {}): { code: number | null; packages: string[]; own: string[] } {
  const file = join(dir, `imports-${n++}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, CLI, ...args], {
    cwd: dir,
    env: { ...process.env, CI: 'true', RECORD_IMPORTS_TO: file, ...env },
    encoding: 'utf8',
    input: '',
  });
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined));
  const own = urls.map((u) => /\/dist\/(src\/.+)$/.exec(u)?.[1]).filter((m): m is string => m !== undefined);
  return { code: r.status, packages: [...packages].sort(), own };
}

it.each([[['--version']], [['--help']]])('adc-cutover %j imports no npm package, and of ours only the entry point and what it answers from', (args) => {
  const r = packagesImported(args);
  expect(r.code).toBe(0);
  expect(r.packages).toEqual([]);
  expect(r.own.sort()).toEqual(['src/cli/fast-path.js', 'src/cli/main.js', 'src/errors.js']);
});

it.each([[['plan', '--help']], [['directory', 'rekey', '--help']], [['logon-check', '--help']], [['completion']], [['--get-yargs-completions', 'directory', '']]])(
  'adc-cutover %j imports none of what the commands do',
  (args) => {
    const r = packagesImported(args);
    expect(r.code).toBe(0);
    expect(r.packages).toContain('yargs');
    expect(r.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(r.own.filter(isHttpClient)).toEqual([]);
  },
);

it('a command imports its work when it runs (so the recording above sees such imports)', () => {
  // `otp code` computes TOTP codes: it loads otpauth, and nothing it does not need (node-forge
  // only for a PKCS#12 file, the HTTP client never).
  const r = packagesImported(['otp', 'code', '--secret-env', 'ADC_TEST_TOTP_SECRET'], { ADC_TEST_TOTP_SECRET: 'JBSWY3DPEHPK3PXP' });
  expect(r.code).toBe(0);
  expect(r.packages).toContain('otpauth');
  expect(r.packages).not.toContain('node-forge');
  expect(r.own.filter(isHttpClient)).toEqual([]);
  // The recording does see our modules: the command's own is among them.
  expect(r.own.some((m) => m.startsWith('src/cli/'))).toBe(true);
});
