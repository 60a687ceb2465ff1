// `adc-cutover otptool` as an operator coming from the vendor tool runs it: the built CLI, a real
// slapd, vendor-style command lines. The tests run in order on one directory: copy to another
// attribute (source untouched), update certificate in place, encrypt the legacy users, decrypt.
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readValues } from '../../src/directory/index.js';
import { Keyring, readSecrets, type OtpKeyMaterial } from '../../src/otp/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';
import { holdsUnder, serviceConnect } from '../rekey/helpers.js';

let lab: TestDirectory;
let cwd: string;
const PFX_PASS = 'pfx-Pass-9xQ!';
const KEY_PASS = 'key-Pass-4wZ?';
let oldMerged: string;
let newMerged: string;
let newMergedEncrypted: string;
let newPfx: string;
/** Everything the CLI printed or logged, scanned for secrets at the end. */
const outputs: string[] = [];

const env = () => ({ ADC_OTPTOOL_PASSWORD: lab.slapd.servicePassword, PFX_PASS, KEY_PASS });

/** The vendor-style connection part, over LDAPS with our -ca. */
function conn(): string[] {
  return [
    '-Host',
    lab.slapd.ldapsUrl,
    '-ca',
    lab.slapd.caFile,
    '-username',
    lab.slapd.serviceDN,
    '-search_base',
    lab.slapd.usersDN,
    '-search_filter',
    '(objectClass=user)',
    '-source_attribute',
    'userParameters',
  ];
}

async function otptool(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await runCli(['otptool', ...args], { cwd, env: opts.env ?? env() });
  outputs.push(r.stdout, r.stderr);
  return r;
}

function appLog(): string {
  return existsSync(join(cwd, 'app.log')) ? readFileSync(join(cwd, 'app.log'), 'utf8') : '';
}

async function values(attribute = 'userParameters'): Promise<Map<string, string[]>> {
  const c = await serviceConnect(lab)();
  try {
    return await readValues(c, [...lab.seed.users.map((u) => u.dn), lab.seed.canary.dn], attribute);
  } finally {
    await c.close();
  }
}

/** The enrolled users (readable devices) and the canary, with their devices. */
function enrolled() {
  return [
    ...lab.seed.users.filter((u) => u.devices.length > 0).map((u) => ({ dn: u.dn, kind: u.kind, devices: u.devices })),
    { dn: lab.seed.canary.dn, kind: 'single' as const, devices: [{ name: lab.seed.canary.deviceName, secret: lab.seed.canary.totpSecret }] },
  ];
}

function holdsLegacy(value: string | undefined, devices: { name: string; secret: string }[]): boolean {
  if (value === undefined) return false;
  const read = readSecrets(value, new Keyring([]));
  return read.format === 'legacy' && read.devices.length === devices.length && devices.every((d) => read.devices.some((r) => r.name === d.name && r.secret === d.secret));
}

/** The arguments of the `undo with: adc-cutover …` command in a summary, unquoted as a shell would. */
function restoreCommand(stdout: string): string[] {
  const m = /undo with: adc-cutover (.*)\)$/m.exec(stdout);
  if (!m) throw new Error(`no undo command in:\n${stdout}`);
  return [...m[1].matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)].map((t) => (t[1] !== undefined ? t[1].replace(/\\(.)/g, '$1') : t[2]));
}

function count(log: string, outcome: RegExp): number {
  return log.split('\n').filter((l) => outcome.test(l)).length;
}

beforeAll(async () => {
  lab = await startTestDirectory({ users: 40 });
  cwd = mkdtempSync(join(lab.dir, 'run-'));
  // The forms operators bring: "merged" cert + key (the vendor tool's), an encrypted key, a PFX.
  oldMerged = join(lab.dir, 'OTPEncryption.merged');
  writeFileSync(oldMerged, lab.oldKey.pem.certPem + lab.oldKey.keyPem, { mode: 0o600 });
  newMerged = join(lab.dir, 'OTPEncryption2026.merged');
  writeFileSync(newMerged, lab.newKey.pem.certPem + lab.newKey.keyPem, { mode: 0o600 });
  newMergedEncrypted = join(lab.dir, 'OTPEncryption2026-encrypted.pem');
  const encKey = createPrivateKey(lab.newKey.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: KEY_PASS }) as string;
  writeFileSync(newMergedEncrypted, lab.newKey.pem.certPem + encKey, { mode: 0o600 });
  newPfx = join(lab.dir, 'OTPEncryption2026.pfx');
  execFileSync('openssl', ['pkcs12', '-export', '-in', lab.newKey.certFile, '-inkey', lab.newKey.keyFile, '-out', newPfx, '-passout', `pass:${PFX_PASS}`], { stdio: 'ignore' });
});

afterAll(async () => {
  await lab?.stop();
});

it('bad input exits 2 and changes nothing: -password, a missing certificate, decrypt without -yes, a UPN on slapd', async () => {
  const before = await values();
  const pw = await otptool([...conn(), '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged, '-password', 'Typed-On-The-Cmdline-1']);
  expect(pw.code).toBe(2);
  expect(pw.stderr).toMatch(/-password: refused/);
  expect(pw.stdout + pw.stderr).not.toContain('Typed-On-The-Cmdline-1');

  const missing = await otptool([...conn(), '-operation', '2', '-cert_path', join(lab.dir, 'nope.merged'), '-new_cert_path', newMerged]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('nope.merged');

  const noYes = await otptool([...conn(), '-operation', '1', '-cert_path', oldMerged]);
  expect(noYes.code).toBe(2);
  expect(noYes.stderr).toMatch(/refusing without -yes/);

  const noPw = await otptool([...conn(), '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged], { env: {} });
  expect(noPw.code).toBe(2);
  expect(noPw.stderr).toMatch(/ADC_OTPTOOL_PASSWORD/);

  // slapd takes DNs only; Active Directory would take this UPN as given. The reply says what to try.
  const upn = await otptool([...conn().slice(0, 4), '-username', 'svc-otp@lab.example', ...conn().slice(6), '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged]);
  expect(upn.code).toBe(2);
  expect(upn.stderr).toMatch(/svc-otp@lab\.example" is a UPN: Active Directory accepts it as given, other servers \(OpenLDAP\) only take a DN/);

  const wrongPw = await otptool([...conn(), '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged], { env: { ADC_OTPTOOL_PASSWORD: 'wrong-password-x' } });
  expect(wrongPw.code).toBe(2);
  expect(wrongPw.stderr).toMatch(/invalidCredentials.*check the DN .* and the password/);

  expect(await values()).toEqual(before);
  expect(existsSync(join(cwd, 'app.log'))).toBe(false);
  expect(existsSync(join(cwd, '.adc-cutover'))).toBe(false);
});

it('a nested-group filter is passed through as given, with a warning on a server that is not AD', async () => {
  const nested = `(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=${lab.slapd.otpGroupDN}))`;
  const r = await otptool([...conn().slice(0, 8), '-search_filter', nested, '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged, '-dry_run', '-log', 'nested.log']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/nested-group rule .* silently match nothing/);
  expect(r.stdout).toMatch(/Fetched 0 users/);
  expect(readFileSync(join(cwd, 'nested.log'), 'utf8')).toContain(nested);
  // The plain group filter, on the other hand, finds the group's enrolled members.
  const direct = await otptool([
    ...conn().slice(0, 8),
    '-search_filter',
    `(memberOf=${lab.slapd.otpGroupDN})`,
    '-operation',
    '2',
    '-cert_path',
    oldMerged,
    '-new_cert_path',
    newMerged,
    '-dry_run',
    '-log',
    'nested.log',
  ]);
  expect(direct.code, direct.stderr).toBe(0);
  expect(direct.stdout).toMatch(new RegExp(`Fetched ${lab.seed.users.filter((u) => u.inOtpGroup && u.value !== undefined).length + 1} users`));
});

it('a log that cannot be written: the summary is still printed, the error names the log file, exit 1', async () => {
  const r = await otptool([...conn(), '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged, '-dry_run', '-log', '/dev/full']);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toMatch(/Would modify \d+ users/);
  expect(r.stderr).toMatch(/error: -log \/dev\/full: writing the log failed \(ENOSPC\)/);
});

it('-target_attribute extensionAttribute1: the result lands there, the source is not changed; a second run changes nothing; the printed undo removes the copies', async () => {
  const before = await values();
  const backup = join(cwd, 'copy-backup.jsonl');
  const r = await otptool([...conn(), '-target_attribute', 'extensionAttribute1', '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged, '-backup', backup, '-log', 'copy.log']);
  expect(r.code, r.stderr).toBe(0);
  expect(await values()).toEqual(before);
  const copies = await values('extensionAttribute1');
  const movers = enrolled().filter((u) => u.kind !== 'legacy');
  for (const u of movers) expect(holdsUnder(copies.get(u.dn.toLowerCase())?.[0] ?? '', u.devices, lab.newKey), u.dn).toBe(true);
  expect(r.stdout).toMatch(new RegExp(`Modified ${movers.length} users`));
  expect(r.stdout).toMatch(/userParameters → extensionAttribute1 \(copy: userParameters is not changed\)/);
  expect(existsSync(backup)).toBe(true);

  const again = await otptool([...conn(), '-target_attribute', 'extensionAttribute1', '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged, '-log', 'copy.log']);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toMatch(/Modified 0 users/);
  expect(again.stdout).toMatch(new RegExp(`${movers.length}  extensionAttribute1 already holds the same devices`));
  expect(await values('extensionAttribute1')).toEqual(copies);

  // The undo the first run printed, run as printed: the copies go, since the target held nothing before.
  const undo = restoreCommand(r.stdout);
  expect(undo).toContain('extensionAttribute1');
  // Without --attribute, restore works on the attribute the backup names, never a default one:
  // a dry run of it would change the copies, not userParameters.
  const at = undo.indexOf('--attribute');
  const bare = at >= 0 ? [...undo.slice(0, at), ...undo.slice(at + 2)] : undo;
  const dry = await runCli([...bare, '--dry-run', '--json'], { cwd, env: env() });
  expect(dry.code, dry.stderr + dry.stdout).toBe(0);
  expect((JSON.parse(dry.stdout) as { changed: number }).changed).toBe(movers.length);
  // As printed it asks at a terminal; here there is none, so it takes --yes like every writing command.
  const refused = await runCli(undo, { cwd, env: env() });
  expect(refused.code, refused.stderr).toBe(2);
  expect(await values('extensionAttribute1')).toEqual(copies);
  const restored = await runCli([...undo, '--yes'], { cwd, env: env() });
  outputs.push(restored.stdout, restored.stderr);
  expect(restored.code, restored.stderr + restored.stdout).toBe(0);
  expect(restored.stdout).toMatch(new RegExp(`^changed +${movers.length}$`, 'm'));
  const after = await values('extensionAttribute1');
  for (const u of enrolled()) expect(after.get(u.dn.toLowerCase()), u.dn).toEqual([]);
  expect(await values()).toEqual(before);
});

it('operation 2 (update certificate) over LDAPS with -ca: every enrolled user readable with the new key; a line per user in app.log', async () => {
  const r = await otptool([...conn(), '-operation', '2', '-cert_path', oldMerged, '-new_cert_path', newMerged]);
  expect(r.code, r.stderr).toBe(0);
  const now = await values();
  const movers = enrolled().filter((u) => u.kind !== 'legacy');
  for (const u of movers) expect(holdsUnder(now.get(u.dn.toLowerCase())?.[0] ?? '', u.devices, lab.newKey), u.dn).toBe(true);
  const legacy = lab.seed.users.filter((u) => u.kind === 'legacy');
  for (const u of legacy) expect(now.get(u.dn.toLowerCase())).toEqual([u.value]);

  const withValue = lab.seed.users.filter((u) => u.value !== undefined).length + 1;
  expect(r.stdout).toMatch(new RegExp(`Fetched ${withValue} users`));
  expect(r.stdout).toMatch(new RegExp(`Modified ${movers.length} users`));
  expect(r.stdout).toMatch(new RegExp(`Not modified ${withValue - movers.length} users:`));
  expect(r.stdout).toMatch(new RegExp(`${legacy.length}  legacy plaintext, left as it is \\(add -include_legacy`));
  expect(r.stdout).toMatch(/Backup \.adc-cutover\/otptool\/update-certificate-.*\.jsonl \(sealed; undo with: adc-cutover directory restore/);

  const log = appLog();
  expect(count(log, / INFO +.*: modified: \d+ devices? re-encrypted \(KID /)).toBe(movers.length);
  expect(count(log, /: not modified: legacy plaintext/)).toBe(legacy.length);
  for (const u of lab.seed.users.filter((x) => x.value !== undefined)) expect(log).toContain(`${u.dn}: `);
  expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO +adc-cutover otptool: operation 2/m);
  expect(log).toMatch(new RegExp(`done: fetched ${withValue}, modified ${movers.length}`));
});

it('operation 0 (encrypt) with an encrypted-key merged PEM: the legacy users end up under the new key', async () => {
  const r = await otptool([...conn(), '-operation', '0', '-cert_path', newMergedEncrypted, '-cert_passphrase_env', 'KEY_PASS', '-log', 'encrypt.log']);
  expect(r.code, r.stderr).toBe(0);
  const now = await values();
  const legacy = enrolled().filter((u) => u.kind === 'legacy');
  expect(legacy.length).toBeGreaterThan(0);
  for (const u of legacy) expect(holdsUnder(now.get(u.dn.toLowerCase())?.[0] ?? '', u.devices, lab.newKey), u.dn).toBe(true);
  expect(r.stdout).toMatch(new RegExp(`Modified ${legacy.length} users`));
  expect(count(readFileSync(join(cwd, 'encrypt.log'), 'utf8'), /: modified: \d+ devices? encrypted from legacy plaintext/)).toBe(legacy.length);

  // The encrypted key without its passphrase: exit 2, naming our option for it.
  const noPass = await otptool([...conn(), '-operation', '0', '-cert_path', newMergedEncrypted, '-log', 'encrypt.log']);
  expect(noPass.code).toBe(2);
  expect(noPass.stderr).toMatch(/encrypted.*-cert_passphrase_env VAR/);
});

it('operation 1 (decrypt) with -yes and a PFX: every enrolled user back to legacy plaintext with the same secrets', async () => {
  const r = await otptool([...conn(), '-operation', '1', '-cert_path', newPfx, '-cert_passphrase_env', 'PFX_PASS', '-yes', '-log', 'decrypt.log']);
  expect(r.code, r.stderr).toBe(0);
  const now = await values();
  for (const u of enrolled()) expect(holdsLegacy(now.get(u.dn.toLowerCase())?.[0], u.devices), u.dn).toBe(true);
  expect(r.stdout).toMatch(new RegExp(`Modified ${enrolled().length} users`));
  expect(count(readFileSync(join(cwd, 'decrypt.log'), 'utf8'), /: modified: \d+ devices? decrypted to legacy plaintext/)).toBe(enrolled().length);
});

it('no secret in app.log, the other logs, stdout or stderr', () => {
  const logs = ['app.log', 'copy.log', 'encrypt.log', 'decrypt.log', 'nested.log'].map((f) => readFileSync(join(cwd, f), 'utf8'));
  const everything = [...outputs, ...logs].join('\n');
  expect(everything.length).toBeGreaterThan(1000);
  const secrets: string[] = [lab.slapd.servicePassword, lab.seed.canary.totpSecret, PFX_PASS, KEY_PASS];
  for (const u of lab.seed.users) for (const d of u.devices) secrets.push(d.secret);
  // Private key bodies: every base64 line of both PEM keys (and of the encrypted one).
  const keyLines = (pem: string) => pem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
  for (const k of [lab.oldKey, lab.newKey] as (OtpKeyMaterial & { keyPem: string })[]) secrets.push(...keyLines(k.keyPem));
  secrets.push(...keyLines(readFileSync(newMergedEncrypted, 'utf8').split('-----END CERTIFICATE-----')[1]));
  expect(secrets.length).toBeGreaterThan(60);
  for (const s of secrets) expect(everything.includes(s), 'a secret reached the output').toBe(false);
});
