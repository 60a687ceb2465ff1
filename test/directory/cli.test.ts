// The directory commands as an operator runs them (the built CLI, CI=true so nothing prompts).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';

let lab: TestDirectory;
let conn: string[];
const env = () => ({ SVC_PW: lab.slapd.servicePassword });

beforeAll(async () => {
  lab = await startTestDirectory({ users: 40 });
  conn = ['--url', lab.slapd.ldapsUrl, '--ca', lab.slapd.caFile, '--bind-dn', lab.slapd.serviceDN, '--password-env', 'SVC_PW', '--base', lab.slapd.usersDN];
});

afterAll(async () => {
  await lab?.stop();
});

it('census, dry run, rekey, second rekey, restore — exit codes and no secrets in the output', async () => {
  const census = await runCli(['directory', 'census', ...conn, '--cert', lab.oldKey.certFile, '--key', lab.oldKey.keyFile, '--json'], { env: env() });
  const c = JSON.parse(census.stdout) as { byKid: { kid: string; devices: number }[]; unreadable: { entries: number } };
  expect(c.byKid.find((k) => k.kid === lab.oldKey.kidText)?.devices).toBeGreaterThan(0);
  // The seed holds broken values on purpose: the census says so with exit 1.
  expect(census.code).toBe(c.unreadable.entries > 0 ? 1 : 0);

  const keys = ['--from-cert', lab.oldKey.certFile, '--from-key', lab.oldKey.keyFile, '--to-cert', lab.newKey.certFile, '--to-key', lab.newKey.keyFile];
  const dry = await runCli(['directory', 'rekey', ...conn, ...keys, '--dry-run'], { env: env() });
  expect(dry.stderr).toBe('');
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(/would change\s+\d+/);

  const backup = join(lab.dir, 'cli-backup.jsonl');
  const run = await runCli(['directory', 'rekey', ...conn, ...keys, '--backup', backup, '--yes', '--json'], { env: env() });
  expect(run.code, run.stderr).toBe(0);
  const s = JSON.parse(run.stdout) as { changed: number; failed: unknown[] };
  expect(s.changed).toBeGreaterThan(0);
  const again = JSON.parse((await runCli(['directory', 'rekey', ...conn, ...keys, '--backup', `${backup}.2`, '--yes', '--json'], { env: env() })).stdout) as { changed: number; unchanged: number };
  expect(again).toMatchObject({ changed: 0, unchanged: s.changed });

  const restore = await runCli(['directory', 'restore', backup, ...conn, '--cert', lab.oldKey.certFile, '--key', lab.oldKey.keyFile, '--yes'], { env: env() });
  expect(restore.code, restore.stderr).toBe(0);
  expect(restore.stdout).toMatch(new RegExp(`changed\\s+${s.changed}`));

  const everything = census.stdout + dry.stdout + run.stdout + restore.stdout + readFileSync(backup, 'utf8');
  for (const u of lab.seed.users) for (const d of u.devices) expect(everything).not.toContain(d.secret);
  expect(everything).not.toContain(lab.slapd.servicePassword);
});

it('decrypt refuses without --yes when nobody can confirm; bad input is exit 2', async () => {
  const r = await runCli(['directory', 'decrypt', ...conn, '--cert', lab.oldKey.certFile, '--key', lab.oldKey.keyFile], { env: env() });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/directory decrypt writes and there is no terminal to ask on: add --yes/);
  const noPw = await runCli(['directory', 'census', ...conn], { env: {} });
  expect(noPw.code).toBe(2);
  expect(noPw.stderr).toMatch(/SVC_PW/);
  const mismatch = await runCli(
    ['directory', 'rekey', ...conn, '--from-cert', lab.oldKey.certFile, '--from-key', lab.oldKey.keyFile, '--to-cert', lab.newKey.certFile, '--to-key', lab.oldKey.keyFile, '--dry-run'],
    { env: env() },
  );
  expect(mismatch.code).toBe(2);
  expect(mismatch.stderr).toMatch(/does not match the certificate/);
});
