// Every `directory …` command with -i inventory, as `run` takes it: the directory (URL, bind DN,
// password reference, CA, base, filter, attribute) and the certificates come from the inventory,
// and a flag still overrides it. Every writing one asks for --yes when there is no terminal and
// prints its summary as JSON with --json. Against a real slapd.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';

let lab: TestDirectory;
let inv: string;
/** The values as they were seeded, by DN: each write below is undone before the next test. */
let values: () => Promise<Map<string, string>>;

interface Summary {
  job: string;
  dryRun: boolean;
  fetched: number;
  changed: number;
  unchanged: number;
  failed: unknown[];
  backupFile?: string;
}

beforeAll(async () => {
  lab = await startTestDirectory({ users: 40 });
  const pwFile = join(lab.dir, 'directory.password');
  writeFileSync(pwFile, `${lab.slapd.servicePassword}\n`);
  chmodSync(pwFile, 0o600);
  inv = join(lab.dir, 'inventory.yaml');
  writeFileSync(
    inv,
    [
      'appliances:',
      '  - { name: adc1, nitro: "https://127.0.0.1:1", username: nsroot, password: "${env:NOT_USED_BY_DIRECTORY_COMMANDS}" }',
      'directory:',
      `  url: ${lab.slapd.ldapsUrl}`,
      `  ca: ${lab.slapd.caFile}`,
      `  bindDN: "${lab.slapd.serviceDN}"`,
      '  password: "${file:directory.password}"',
      `  base: "${lab.slapd.usersDN}"`,
      '  attribute: userParameters',
      'certificates:',
      `  old: { cert: ${lab.oldKey.certFile}, key: ${lab.oldKey.keyFile} }`,
      `  new: { cert: ${lab.newKey.certFile}, key: ${lab.newKey.keyFile} }`,
      '',
    ].join('\n'),
  );
  const { Client } = await import('ldapts');
  values = async () => {
    const c = new Client({ url: lab.slapd.url });
    try {
      await c.bind(lab.slapd.serviceDN, lab.slapd.servicePassword);
      const { searchEntries } = await c.search(lab.slapd.usersDN, { filter: '(userParameters=*)', attributes: ['userParameters'], paged: { pageSize: 200 } });
      return new Map(searchEntries.map((e) => [e.dn, String(e['userParameters'])]));
    } finally {
      await c.unbind();
    }
  };
});
afterAll(async () => {
  await lab?.stop();
});

const cli = (args: string[]) => runCli(args, { cwd: lab.dir });

describe('-i inventory on every directory command', () => {
  it('census: the directory and both certificates from the inventory; --filter overrides it', async () => {
    const r = await cli(['directory', 'census', '-i', inv, '--json']);
    const c = JSON.parse(r.stdout) as { entries: number; base: string; byKid: { kid: string; label?: string; held: boolean }[]; unreadable: { entries: number } };
    expect(r.code, r.stderr).toBe(c.unreadable.entries > 0 ? 1 : 0);
    expect(c.base).toBe(lab.slapd.usersDN);
    expect(c.entries).toBe(lab.seed.users.length + 1);
    // Both certificates came from the inventory, so the devices under the old one are named.
    expect(c.byKid.find((k) => k.kid === lab.oldKey.kidText)).toMatchObject({ held: true, label: lab.oldKey.subject });
    const one = await cli(['directory', 'census', '-i', inv, '--filter', '(sAMAccountName=canary)', '--json']);
    expect((JSON.parse(one.stdout) as { entries: number }).entries).toBe(1);
  });

  it('rekey: certificates.old → certificates.new; without a terminal it needs --yes; with it, writes and prints JSON', async () => {
    const before = await values();
    const refused = await cli(['directory', 'rekey', '-i', inv]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/directory rekey writes and there is no terminal to ask on: add --yes to go ahead; nothing was changed/);
    expect(await values()).toEqual(before);

    const dry = await cli(['directory', 'rekey', '-i', inv, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ job: 'rekey', dryRun: true });
    expect((JSON.parse(dry.stdout) as Summary).changed).toBeGreaterThan(0);
    expect(await values()).toEqual(before);

    const backup = join(lab.dir, 'rekey-backup.jsonl');
    const run = await cli(['directory', 'rekey', '-i', inv, '--yes', '--json', '--backup', backup]);
    expect(run.code, run.stderr).toBe(0);
    const s = JSON.parse(run.stdout) as Summary;
    expect(s).toMatchObject({ job: 'rekey', dryRun: false, failed: [], backupFile: backup });
    expect(s.changed).toBe((JSON.parse(dry.stdout) as Summary).changed);

    // restore: the old certificate from the inventory; refused without --yes, then JSON.
    const noYes = await cli(['directory', 'restore', backup, '-i', inv]);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toMatch(/directory restore writes .* add --yes/);
    const restore = await cli(['directory', 'restore', backup, '-i', inv, '--yes', '--json']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ job: 'restore', changed: s.changed, failed: [] });
    expect(await values()).toEqual(before);
  });

  it('encrypt and decrypt: the directory from the inventory, the certificate named; --yes and --json like the others', async () => {
    const before = await values();
    const cert = ['--cert', lab.oldKey.certFile, '--key', lab.oldKey.keyFile];
    expect((await cli(['directory', 'encrypt', '-i', inv, ...cert])).stderr).toMatch(/directory encrypt writes .* add --yes/);
    const backup = join(lab.dir, 'encrypt-backup.jsonl');
    const enc = await cli(['directory', 'encrypt', '-i', inv, ...cert, '--yes', '--json', '--backup', backup]);
    expect(enc.code, enc.stderr).toBe(0);
    const legacy = lab.seed.users.filter((u) => u.kind === 'legacy').length;
    expect(JSON.parse(enc.stdout)).toMatchObject({ job: 'encrypt', changed: legacy, failed: [] });
    const back = await cli(['directory', 'restore', backup, '-i', inv, '--yes', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(await values()).toEqual(before);

    const dec = await cli(['directory', 'decrypt', '-i', inv, ...cert, '--dry-run', '--json']);
    expect(dec.code, dec.stderr).toBe(0);
    expect((JSON.parse(dec.stdout) as Summary).changed).toBeGreaterThan(0);
    const refused = await cli(['directory', 'decrypt', '-i', inv, ...cert, '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/directory decrypt writes .* add --yes/);
    expect(await values()).toEqual(before);
  });

  it('a flag overrides the inventory: a wrong --password-env is used, and named', async () => {
    const r = await runCli(['directory', 'census', '-i', inv, '--password-env', 'DIR_WRONG'], { cwd: lab.dir, env: { DIR_WRONG: 'not-the-password' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/invalid credentials|49/i);
    const missing = await cli(['directory', 'census', '--base', lab.slapd.usersDN]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--url \(or -i inventory\) is required/);
  });

  it('names the inventory and field when the inventory is at fault', async () => {
    const bad = join(lab.dir, 'bad-inventory.yaml');
    writeFileSync(bad, readFileSync(inv, 'utf8').replace('${file:directory.password}', '${file:no-such-file}'));
    const r = await cli(['directory', 'census', '-i', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\$\{file:no-such-file\}: cannot read .*no-such-file \(ENOENT\)/);
  });
});
