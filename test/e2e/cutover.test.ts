// The whole cutover against the lab, through the built CLI: success, dry run, and the proof
// that every secret survives under the new certificate.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, loadKeyMaterial, readSecrets } from '../../src/otp/index.js';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';

let lab: E2eLab;
let before: Snapshot;

beforeAll(async () => {
  lab = await startE2eLab({ users: 60, appliances: 2 });
  before = await lab.snapshot();
});
afterAll(async () => lab?.stop());

describe('otp-cert-cutover on the lab', () => {
  it('a dry run reads everything, sends no write anywhere and changes nothing', async () => {
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--dry-run', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; status?: string; message?: string });
    const rekey = events.find((e) => e.type === 'target' && /would change/.test(e.message ?? ''));
    expect(rekey?.message).toMatch(/\d+ would change/);
    expect(await lab.snapshot()).toEqual(before);
  });

  it('moves every secret to the new certificate, binds only the new key, saves, and proves a logon', async () => {
    const junit = join(lab.root, 'junit.xml');
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--junit', junit], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded', exitCode: 0 });
    const logons = events.filter((e) => e['type'] === 'target' && e['step'] === 'logon-check#2');
    expect(logons.map((e) => e['status'])).toEqual(['ok', 'ok']);

    const after = await lab.snapshot();
    for (const [name, a] of Object.entries(after.appliances)) {
      expect(a.bindings, name).toHaveLength(1);
      expect(a.bindings[0], name).toMatch(/^otp-enc-/);
      expect(
        a.certkeys.some((c) => c.startsWith('otp-old:')),
        name,
      ).toBe(true); // the old certkey existed before: kept
    }
    // Every enrolled user's devices, read with the new certificate only, equal what was seeded.
    const newKey = await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key });
    const kr = new Keyring([newKey]);
    let checked = 0;
    for (const u of lab.users().filter((x) => x.kind === 'single' || x.kind === 'multi')) {
      const [value] = after.directory[u.dn.toLowerCase()];
      const read = readSecrets(value, kr);
      expect(read.devices.map((d) => [d.name, d.secret, d.kid])).toEqual(u.devices.map((d) => [d.name, d.secret, newKey.kidText]));
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
    // What the run could not read is left byte for byte as it was.
    for (const u of lab.users().filter((x) => /broken|unknown|bad/.test(x.kind) || x.kind === 'legacy' || x.kind === 'none')) {
      expect(after.directory[u.dn.toLowerCase()], u.dn).toEqual(before.directory[u.dn.toLowerCase()]);
    }
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="adc-cutover" tests="\d+" failures="0">/);
    expect(xml).toContain('name="Save the configuration @ adc2"');

    // Nothing a user owns leaks into any output or file of the run.
    const runId = String(events.find((e) => e['type'] === 'run')!['runId']);
    const runDir = join(lab.root, 'home', 'runs', runId);
    const texts = [r.stdout, r.stderr, xml, ...readdirSync(runDir).map((f) => readFileSync(join(runDir, f), 'latin1'))];
    for (const s of lab.secrets()) for (const t of texts) expect(t.includes(s)).toBe(false);
    for (const f of readdirSync(runDir)) expect(statSync(join(runDir, f)).mode & 0o077, f).toBe(0);

    // Planned again, the same playbook finds nothing left to do.
    const plan = await lab.cli(['plan', CUTOVER, '-i', lab.inventory, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const steps = (JSON.parse(plan.stdout) as { steps: { id: string; changes: { description: string }[] }[] }).steps;
    expect(steps.find((s) => s.id === 'import-certkey')!.changes.every((c) => /already loaded/.test(c.description))).toBe(true);
    expect(steps.find((s) => s.id === 'rekey-directory')!.changes[0].description).toMatch(/^re-encrypt 0 device/);

    const show = await lab.cli(['show', runId]);
    expect(show.stdout).toMatch(/succeeded \(exit 0\)/);
    expect(show.stdout).toMatch(/otp-old unbound/);
  }, 180_000);
});
