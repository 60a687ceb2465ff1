// The command definitions stay light: --version, --help, a command's --help and completion load
// yargs and the definitions, and none of what the commands do (HTTP, SSH and LDAP clients, crypto,
// YAML and schema parsers, the task list): each handler imports its work when it runs. How long
// start-up takes is for bench/startup.ts to say; this checks its cause, which does not depend on
// how busy the machine is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const RECORDER = fileURLToPath(new URL('../helpers/record-imports.mjs', import.meta.url));
const HEAVY = ['axios', 'ssh2', 'node-forge', 'otpauth', 'listr2', 'zod', 'yaml', 'ldapts'];
const dir = mkdtempSync(join(tmpdir(), 'adc-startup-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** The npm packages a run of the CLI with these arguments imports, and its exit code. */
function packagesImported(args: string[], env: Record<string, string> = {}): { code: number | null; packages: string[] } {
  const file = join(dir, `imports-${n++}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, CLI, ...args], {
    cwd: dir,
    env: { ...process.env, CI: 'true', RECORD_IMPORTS_TO: file, ...env },
    encoding: 'utf8',
    input: '',
  });
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined));
  return { code: r.status, packages: [...packages].sort() };
}

it.each([[['--version']], [['--help']], [['plan', '--help']], [['directory', 'rekey', '--help']], [['logon-check', '--help']], [['completion']], [['--get-yargs-completions', 'directory', '']]])(
  'adc-cutover %j imports none of what the commands do',
  (args) => {
    const r = packagesImported(args);
    expect(r.code).toBe(0);
    expect(r.packages).toContain('yargs');
    expect(r.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
  },
);

it('a command imports its work when it runs (so the recording above sees such imports)', () => {
  // `otp code` computes TOTP codes: it loads otpauth, and nothing it does not need (node-forge
  // only for a PKCS#12 file, axios never).
  const r = packagesImported(['otp', 'code', '--secret-env', 'ADC_TEST_TOTP_SECRET'], { ADC_TEST_TOTP_SECRET: 'JBSWY3DPEHPK3PXP' });
  expect(r.code).toBe(0);
  expect(r.packages).toContain('otpauth');
  expect(r.packages).not.toContain('node-forge');
  expect(r.packages).not.toContain('axios');
});
