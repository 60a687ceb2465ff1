// No secret of the lab — directory and appliance passwords, the canary's password and TOTP
// secret, every user's password and TOTP secrets, the private keys — may appear in anything a run
// leaves behind: stdout and stderr (task output and JSON lines), the JUnit file, journals,
// report.json, report.html, the directory backups, `show` and `runs`. Journals and backups are
// mode 0600, and a backup holds the original values only sealed, never in clear.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { compareValues, cutoverWithoutLogonChecks, jsonEvents, labKeyring } from './check.js';
import { FigureLog } from './figures.js';

let lab: E2eLab;
let before: Snapshot;
const outputs: { name: string; text: string }[] = [];
const figures = new FigureLog(
  'secrets',
  'Secrets: nothing leaks',
  'A failed run (fault at save-config after the re-encryption, so a backup exists, plain text output) and a full cutover (JSON lines, JUnit, both logon checks) on the lab with 40 users and 2 appliances; then every byte they printed or wrote is searched for every lab secret, as is and base64-encoded.',
);

beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 2 });
  before = await lab.snapshot();
}, 60_000);
afterAll(async () => {
  figures.write();
  await lab?.stop();
});

const home = () => join(lab.root, 'home');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('secrets', () => {
  it('a failed run (rolled back, backup written) and a full cutover', async () => {
    const playbook = cutoverWithoutLogonChecks(lab.root);
    await lab.fault('adc2', { on: 'POST nsconfig?action=save', errorcode: 9999, times: 1 });
    const failed = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--junit', join(lab.root, 'failed.junit.xml')], { timeoutMs: 60_000 });
    await lab.clearFaults();
    expect(failed.code, failed.stderr).toBe(1);
    outputs.push({ name: 'failed run stdout', text: failed.stdout }, { name: 'failed run stderr', text: failed.stderr });
    expect(await lab.snapshot()).toEqual(before);

    const full = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--junit', join(lab.root, 'full.junit.xml')], { timeoutMs: 120_000 });
    expect(full.code, full.stderr).toBe(0);
    expect(jsonEvents(full.stdout).at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
    outputs.push({ name: 'full run stdout (JSON lines)', text: full.stdout }, { name: 'full run stderr', text: full.stderr });
    const moved = compareValues(before.directory, (await lab.snapshot()).directory, await labKeyring(lab));
    expect(moved.bad).toEqual([]);
    expect(moved.reencrypted).toBeGreaterThan(0);

    for (const args of [['runs'], ['runs', '--json']]) {
      const r = await lab.cli(args);
      outputs.push({ name: `adc-cutover ${args.join(' ')}`, text: r.stdout + r.stderr });
    }
    for (const id of readdirSync(join(home(), 'runs'))) {
      for (const args of [
        ['show', id],
        ['show', id, '--json'],
      ]) {
        const r = await lab.cli(args);
        expect(r.code).toBe(0);
        outputs.push({ name: `adc-cutover ${args.join(' ')}`, text: r.stdout + r.stderr });
      }
    }
  }, 150_000);

  it('no lab secret in any output or file; journals, reports and backups 0600; backups sealed', () => {
    const secrets = lab.secrets();
    expect(secrets.length).toBeGreaterThan(40 * 2);
    const files = [...filesUnder(home()), join(lab.root, 'failed.junit.xml'), join(lab.root, 'full.junit.xml')];
    const kinds = new Set(
      files.map((f) =>
        f
          .replace(/.*\//, '')
          .replace(/-\d+(?=\.jsonl$)/, '')
          .replace(/^\d{8}T.*$/, 'run'),
      ),
    );
    expect([...kinds]).toEqual(expect.arrayContaining(['events.jsonl', 'report.json', 'report.html', 'directory-backup.jsonl', 'failed.junit.xml', 'full.junit.xml']));
    const texts = [...outputs, ...files.map((f) => ({ name: f.replace(lab.root, ''), text: readFileSync(f, 'latin1') }))];
    const leaks: string[] = [];
    let bytes = 0;
    for (const { name, text } of texts) {
      bytes += text.length;
      for (const s of secrets) {
        if (text.includes(s) || text.includes(Buffer.from(s).toString('base64'))) leaks.push(`${name}: a secret of ${s.length} characters`);
      }
    }
    expect(leaks).toEqual([]);

    // Journal, report, backup and JUnit files of a run: owner only.
    const modes = files.filter((f) => /events\.jsonl$|report\.json$|backup.*\.jsonl$|junit\.xml$/.test(f)).map((f) => ({ f: f.replace(lab.root, ''), mode: (statSync(f).mode & 0o777).toString(8) }));
    expect(modes.length).toBeGreaterThanOrEqual(6);
    expect(modes.filter((m) => m.mode !== '600')).toEqual([]);
    for (const d of readdirSync(join(home(), 'runs'))) expect(statSync(join(home(), 'runs', d)).mode & 0o077).toBe(0);

    // Backups: originals only as AES-GCM records; no original value, or any part of one that
    // carries a secret, in clear.
    const backups = files.filter((f) => /backup.*\.jsonl$/.test(f));
    expect(backups.length).toBe(2);
    let sealed = 0;
    for (const b of backups) {
      const text = readFileSync(b, 'utf8');
      for (const values of Object.values(before.directory)) for (const v of values) expect(text.includes(v)).toBe(false);
      for (const line of text.trim().split('\n')) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        if (rec['type'] === 'originals') {
          expect(Object.keys(rec).sort()).toEqual(['ct', 'entries', 'iv', 'tag', 'type']);
          sealed += (rec['entries'] as unknown[]).length;
        }
      }
    }
    expect(sealed).toBeGreaterThan(0);
    figures.add({
      case: 'failed run + full cutover: outputs and files scanned',
      kind: 'leak scan',
      outcome: 'no secret found; modes 0600; backups sealed',
      extra: { secrets: secrets.length, texts: texts.length, bytes, 'sealed originals': sealed },
    });
    figures.total('secrets searched for', secrets.length);
    figures.total('outputs and files scanned', texts.length);
    figures.total('bytes scanned', bytes);
  });
});
