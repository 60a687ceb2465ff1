// The change record of real lab runs, opened in a real headless Chromium: a failed run that rolled
// back, then the full cutover. The facts are read off the DOM Chromium rendered, and screenshots
// (plus a printed PDF) are kept in test-artifacts/ for a person to look at.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/report/run-report.js';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { codesIn, dumpDom, printToPdf, requireChromium, screenshot, stepsIn, textOf } from './chromium.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

let lab: E2eLab;
let before: Snapshot;

beforeAll(async () => {
  requireChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  lab = await startE2eLab({ users: 40, appliances: 2 });
  before = await lab.snapshot();
});
afterAll(async () => lab?.stop());

const runsDir = () => join(lab.root, 'home', 'runs');
const newestRun = (): string => readdirSync(runsDir()).sort().at(-1)!;
const reportOf = (id: string) => JSON.parse(readFileSync(join(runsDir(), id, 'report.json'), 'utf8')) as RunReport;

/** Nothing the lab holds as a secret may appear in the record. */
function expectNoSecret(html: string): void {
  const secrets = lab.secrets();
  expect(secrets.length).toBeGreaterThan(40);
  for (const s of secrets) expect(html.includes(s), 'a lab secret is in report.html').toBe(false);
}

describe('report.html of lab runs, in headless Chromium', () => {
  it('a failed run: the failure in plain words, the rollback drawn, the estate as before', async () => {
    // adc2 refuses to unbind the old key, after the directory was re-encrypted and the canary
    // proven: everything rolls back, the directory included. (A refused bind no longer serves:
    // mode auto reads only a 278 naming the key bound now as one-key firmware, and fails on any
    // other refusal before the re-encryption.)
    await lab.fault('adc2', { on: 'DELETE vpnglobal_sslcertkey_binding', errorcode: 278, times: 1 });
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 150_000 });
    await lab.clearFaults();
    expect(r.code, r.stderr).toBe(1);
    expect(await lab.snapshot()).toEqual(before);

    const id = newestRun();
    const file = join(runsDir(), id, 'report.html');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const shown = await lab.cli(['show', id, '--html']);
    expect(shown.stdout.trim()).toBe(file);

    const html = readFileSync(file, 'utf8');
    expectNoSecret(html);
    const dom = await dumpDom(file);
    await screenshot(file, join(ARTIFACTS, 'report-failed.png'));

    expect(textOf(dom, 'run-status')).toBe('rolled-back');
    expect(textOf(dom, 'exit-code')).toBe('1');
    const steps = stepsIn(dom);
    expect(steps.find((s) => s.id === 'unbind-old-key')).toMatchObject({ status: 'failed', title: 'Unbind the old key (once no device needs it)' });
    expect(steps.filter((s) => s.status === 'not-run').map((s) => s.id)).toEqual(['bind-new-key#2', 'logon-check#2', 'save-config']);
    const errors = textOf(dom, 'errors')!;
    expect(errors).toContain('errorcode 278');
    expect(errors).toContain('NITRO errorcode 278: the appliance refused an argument of the call as invalid.');
    // The rollback: the re-encrypted directory was put back, and the timeline draws the undo.
    expect(dom).toContain('data-testid="census-restored"');
    expect(dom).toMatch(/data-lane="directory" data-step="rekey-directory" data-status="undone" data-rollback="true"/);
    expect(dom).toMatch(/data-lane="adc1" data-step="import-certkey" data-status="undone" data-rollback="true"/);
    expect(dom).toContain('data-testid="rollback-span"');
    // Both appliances are left with exactly the binding they had.
    for (const a of ['adc1', 'adc2']) {
      expect(codesIn(dom, `bindings-before-${a}`), a).toEqual(before.appliances[a].bindings);
      expect(codesIn(dom, `bindings-after-${a}`), a).toEqual(before.appliances[a].bindings);
    }
    expect(dom).not.toContain('data-testid="actions-required"');
  }, 240_000);

  it('the full cutover: steps, census moved to the new certificate, only the new key bound', async () => {
    const r = await lab.cli(['run', CUTOVER, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    const id = newestRun();
    const report = reportOf(id);
    const file = join(runsDir(), id, 'report.html');
    expect(existsSync(file)).toBe(true);
    const html = readFileSync(file, 'utf8');
    expectNoSecret(html);
    // One file that loads nothing: no script, no stylesheet link, no src/href at all.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\s(?:src|href)\s*=/i);

    const dom = await dumpDom(file);
    await screenshot(file, join(ARTIFACTS, 'report.png'));
    const pdf = join(ARTIFACTS, 'report.pdf');
    await printToPdf(file, pdf);
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');

    expect(textOf(dom, 'run-status')).toBe('succeeded');
    expect(textOf(dom, 'run-id')).toBe(id);
    expect(textOf(dom, 'plan-hash')).toBe(report.planHash);
    expect(textOf(dom, 'run-inventory')).toBe(lab.inventory);
    expect(textOf(dom, 'run-user')).toBe(report.user);

    // Every step of the playbook, in order, by name.
    expect(stepsIn(dom).map((s) => `${s.id}:${s.status}`)).toEqual(report.steps.map((s) => `${s.id}:${s.status}`));
    expect(stepsIn(dom).map((s) => s.title)).toEqual(expect.arrayContaining(['Import the new certificate and key', 'Re-encrypt the directory under the new certificate', 'Save the configuration']));
    expect(stepsIn(dom).every((s) => s.status === 'ok' || s.status === 'skipped')).toBe(true);

    // Census: every device under the old certificate before is under the new one after.
    const n = (id2: string) => Number(textOf(dom, id2));
    const oldBefore = n('census-before-devices-old-certificate');
    expect(oldBefore).toBeGreaterThan(20);
    expect(n('census-after-devices-new-certificate')).toBe(oldBefore);
    expect(n('census-after-devices-old-certificate')).toBe(0);
    expect(n('census-after-legacy-devices')).toBe(n('census-before-legacy-devices'));
    expect(n('census-after-unreadable')).toBe(n('census-before-unreadable'));

    // Final bindings: the new certkey only, the same the appliances really hold.
    const after = await lab.snapshot();
    for (const a of ['adc1', 'adc2']) {
      expect(codesIn(dom, `bindings-before-${a}`), a).toEqual(['otp-old']);
      const final = codesIn(dom, `bindings-after-${a}`);
      expect(final, a).toHaveLength(1);
      expect(final[0], a).toMatch(/^otp-enc-/);
      expect(final, a).toEqual(after.appliances[a].bindings);
    }
    // The logon checks, each with its outcome.
    const logons = [...dom.matchAll(/data-testid="logon" data-step="([^"]+)" data-target="([^"]+)" data-status="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    expect(logons).toContain('logon-check#2 adc1 ok');
    expect(logons).toContain('logon-check#2 adc2 ok');
  }, 240_000);
});
