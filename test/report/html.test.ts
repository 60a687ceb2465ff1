// The change record rendered from hand-built reports: the facts are on the page where a test (or a
// person) finds them, outside text is escaped, nothing loads from the network, no secret shows.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildModel, renderHtmlReport, writeHtmlReport } from '../../src/report/html/index.js';
import { explain } from '../../src/report/html/explain.js';
import type { UnbindGuardRecord } from '../../src/steps/unbind-old-key.js';
import { HOSTILE_DN, incompleteReport, PLANTED, succeededReport } from './fixtures.js';

const cell = (html: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];
const codes = (html: string, id: string) => {
  const m = new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</dd>`).exec(html);
  return m ? [...m[1].matchAll(/<code>([^<]*)<\/code>/g)].map((x) => x[1]) : undefined;
};

describe('renderHtmlReport: a finished cutover', () => {
  const html = renderHtmlReport(succeededReport());

  it('says who ran what, when, from which inventory, under which plan', () => {
    expect(cell(html, 'run-id')).toBe('20261123T094330Z-dceb7f');
    expect(cell(html, 'run-status')).toBe('succeeded');
    expect(cell(html, 'exit-code')).toBe('0');
    expect(cell(html, 'run-user')).toBe('jdoe');
    expect(cell(html, 'run-host')).toBe('jump01');
    expect(cell(html, 'run-inventory')).toBe('/srv/inventories/prod.yaml');
    expect(cell(html, 'plan-hash')).toBe('06a2f6763e4eb44e');
    expect(cell(html, 'run-started')).toBe('2026-11-23T09:43:00.500Z');
    expect(html).toContain('re-encrypt 36 device(s) in 28 entr(ies)');
  });

  it('lists every step in order with its status, and draws both charts', () => {
    const steps = [...html.matchAll(/data-testid="step" data-step-id="([^"]+)" data-status="([^"]+)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(steps).toEqual([
      'preflight:ok',
      'import-certkey:ok',
      'bind-new-key:ok',
      'rekey-directory:ok',
      'logon-check:ok',
      'unbind-old-key:ok',
      'bind-new-key#2:ok',
      'logon-check#2:ok',
      'save-config:ok',
    ]);
    expect(html).toMatch(/<svg [^>]*data-testid="timeline-chart"/);
    expect(html).toMatch(/<svg [^>]*data-testid="census-chart"/);
    // The swapped appliance's bar in the overlap step is "skipped", and no rollback column exists.
    expect(html).toContain('data-lane="adc2" data-step="bind-new-key" data-status="skipped"');
    expect(html).not.toContain('data-rollback="true"');
  });

  it('shows the census before and after: what was under the old certificate is under the new one', () => {
    expect(cell(html, 'census-before-devices-old-certificate')).toBe('36');
    expect(cell(html, 'census-after-devices-old-certificate')).toBe('0');
    expect(cell(html, 'census-before-devices-new-certificate')).toBe('0');
    expect(cell(html, 'census-after-devices-new-certificate')).toBe('36');
    expect(cell(html, 'census-before-legacy-devices')).toBe('6');
    expect(cell(html, 'census-after-unreadable')).toBe('1');
    expect(html).not.toContain('census-restored');
  });

  it('shows per appliance the bindings before and the final ones, and the certkeys', () => {
    expect(codes(html, 'bindings-before-adc1')).toEqual(['otp-old']);
    expect(codes(html, 'bindings-after-adc1')).toEqual(['otp-enc-20261123-c967b5']);
    expect(codes(html, 'bindings-after-adc2')).toEqual(['otp-enc-20261123-c967b5']);
    const m = buildModel(succeededReport());
    expect(m.appliances.map((a) => [a.name, a.mode, a.certkeys.map((c) => `${c.name}:${c.before}/${c.after}:${c.boundBefore}/${c.boundAfter}`)])).toEqual([
      ['adc1', 'standalone', ['otp-old:true/true:true/false', 'otp-enc-20261123-c967b5:false/true:false/true']],
      ['adc2', 'ha', ['otp-old:true/true:true/false', 'otp-enc-20261123-c967b5:false/true:false/true']],
    ]);
    // The firmware nsversion reported at preflight; an appliance whose version was not read says so.
    expect(m.appliances.map((a) => a.firmwareVersion)).toEqual(['14.1-25.56', 'not reported']);
    expect(html).toContain('<dt>Firmware</dt><dd>14.1-25.56</dd>');
  });

  it('shows each logon check with its gateway and outcome', () => {
    const rows = [...html.matchAll(/data-testid="logon" data-step="([^"]+)" data-target="([^"]+)" data-status="([^"]+)"/g)].map((m) => m.slice(1).join(' '));
    expect(rows).toEqual(['logon-check adc1 ok', 'logon-check adc2 skipped', 'logon-check#2 adc1 ok', 'logon-check#2 adc2 ok']);
    expect(html).toContain('https://gw2.example.net: nfactor logon ok');
  });

  it('has no section for errors that did not happen', () => {
    expect(html).not.toContain('data-testid="errors"');
    expect(html).not.toContain('data-testid="actions-required"');
  });
});

describe('renderHtmlReport: a failed run whose rollback did not finish', () => {
  const html = renderHtmlReport(incompleteReport());

  it('escapes a hostile DN everywhere it appears', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain(HOSTILE_DN);
    expect(html).toContain('cn=&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;,ou=Users');
  });

  it('escapes outside text inside attributes too', () => {
    const r = incompleteReport();
    r.steps[0].targets[0].target = 'adc1" onmouseover="alert(1)';
    r.steps[0].targets[0].message = '<img src=x onerror=alert(1)>';
    const h = renderHtmlReport(r);
    expect(h).not.toMatch(/<img/i);
    expect(h).not.toMatch(/\son\w+="/i); // no live event-handler attribute, only its escaped text
    expect(h).toContain('data-target="adc1&quot; onmouseover=&quot;alert(1)"');
  });

  it('says in plain words what failed, with the LDAP result and NITRO errorcode explained', () => {
    expect(cell(html, 'run-status')).toBe('rollback-incomplete');
    expect(cell(html, 'exit-code')).toBe('3');
    const errors = /data-testid="errors">([\s\S]*?)<\/section>/.exec(html)![1];
    expect(errors).toContain('LDAP 50 insufficientAccessRights');
    expect(errors).toContain('the bind account may not read or write this attribute');
    expect(errors).toContain('errorcode 349');
    expect(errors).toContain('the change could not be propagated to the HA secondary');
    // Codes come from the record's fields: an unknown code gets no gloss, and words alone get none.
    expect(explain({ nitro: [99999] })).toEqual([]);
    expect(explain(undefined)).toEqual([]);
    expect(explain({ nitro: [278], ldap: [{ code: 32, name: 'noSuchObject' }], network: ['ECONNRESET'] })).toHaveLength(3);
  });

  it('puts what a person must do at the top, before the charts', () => {
    const actions = html.indexOf('data-testid="actions-required"');
    expect(actions).toBeGreaterThan(0);
    expect(actions).toBeLessThan(html.indexOf('data-testid="timeline-chart"'));
    expect(html).toContain('undo by hand — adc2: DELETE vpnglobal_sslcertkey_binding failed: errorcode 349');
  });

  it('draws the rollback in the timeline and names the bindings the appliance was left with', () => {
    expect(html).toContain('data-lane="adc2" data-step="bind-new-key" data-status="failed" data-rollback="true"');
    expect(html).toContain('data-lane="directory" data-step="rekey-directory" data-status="undone" data-rollback="true"');
    expect(html).toContain('data-testid="rollback-span"'); // the wall-clock strip marks the time the rollback took
    expect(codes(html, 'bindings-after-adc1')).toEqual(['otp-old']); // read back during the rollback
    expect(codes(html, 'bindings-after-adc2')).toEqual(['otp-old', 'otp-enc-20261123-c967b5']); // its undo failed
    expect(html).toContain('data-testid="census-restored"');
    expect(cell(html, 'census-after-devices-old-certificate')).toBe('—'); // the re-encryption never finished: no census after it
    const notRun = [...html.matchAll(/data-testid="step" data-step-id="([^"]+)" data-status="not-run"/g)].map((m) => m[1]);
    expect(notRun).toEqual(['logon-check', 'save-config']);
    expect(html).toMatch(/data-testid="logon" data-step="logon-check" data-target="all appliances" data-status="not-run"/);
  });
});

describe('renderHtmlReport: one safe file', () => {
  for (const [name, report] of [
    ['finished', succeededReport()],
    ['incomplete', incompleteReport()],
  ] as const) {
    const html = renderHtmlReport(report);

    it(`${name}: loads nothing — no script, no external resource, a CSP that forbids any`, () => {
      expect(html).not.toMatch(/<script|<link|<iframe|<object|<embed|<img|@import/i);
      // Every src/href/url() points inside the page.
      const refs = [...html.matchAll(/\s(?:src|href|xlink:href|action|poster)\s*=\s*"([^"]*)"/gi)].map((m) => m[1]);
      expect(refs).toEqual([]);
      for (const m of html.matchAll(/url\(([^)]*)\)/g)) expect(m[1]).toMatch(/^#/);
      expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    });

    it(`${name}: shows no secret, even one sitting in a free-form payload of the report`, () => {
      for (const s of PLANTED) expect(html).not.toContain(s);
      expect(html).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|otpauth:\/\//);
    });

    it(`${name}: is readable when printed`, () => {
      expect(html).toMatch(/@media print \{[\s\S]*print-color-adjust: exact/);
      expect(html).toMatch(/<svg [^>]*width="100%"/); // charts scale to the paper width
    });
  }

  it('writes report.html with the same 0600 mode as report.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adc-report-'));
    try {
      const file = join(dir, 'report.html');
      writeHtmlReport(file, succeededReport());
      expect(readFileSync(file, 'utf8')).toBe(renderHtmlReport(succeededReport()));
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('copes with a report that has no plan, no census and a run still going', () => {
    const html = renderHtmlReport({
      runId: '20261123T000000Z-000000',
      status: 'running',
      playbook: 'p.yaml',
      inventory: 'i.yaml',
      planHash: '',
      dryRun: true,
      user: 'u',
      host: 'h',
      startedAt: '2026-11-23T00:00:00.000Z',
      attempts: 1,
      steps: [],
      actionsRequired: [],
    });
    expect(html).toContain('No census was taken in this run.');
    expect(html).toContain('dry run: nothing was changed');
    expect(cell(html, 'run-ended')).toBe('not ended');
  });
});

describe('renderHtmlReport: several directory servers', () => {
  it('shows a census per server and certificate, as preflight read it; a single server shows no such table', () => {
    const r = succeededReport();
    const pre = r.steps.find((s) => s.kind === 'preflight')!;
    const dir = pre.targets.find((t) => t.target === 'directory')!;
    dir.changed = {
      ...dir.changed,
      perServer: [
        { server: 'dc1', old: 36, new: 0, error: null },
        { server: 'dc2', old: 35, new: 1, error: null },
        { server: 'dc3', old: null, new: null, error: 'connection refused' },
      ],
    };
    expect(buildModel(r).serverCensus).toEqual([
      { server: 'dc1', old: 36, new: 0, error: null },
      { server: 'dc2', old: 35, new: 1, error: null },
      { server: 'dc3', old: null, new: null, error: 'connection refused' },
    ]);
    const html = renderHtmlReport(r);
    const table = html.slice(html.indexOf('data-testid="census-servers"'), html.indexOf('</table>', html.indexOf('data-testid="census-servers"')));
    expect(table).toContain('<tr><td>dc2</td><td class="num">35</td><td class="num">1</td></tr>');
    expect(table).toContain('unreachable: connection refused');
    expect(renderHtmlReport(succeededReport())).not.toContain('census-servers');
  });

  it("shows, beside it, each server's counts when the unbind's guard let it go and how long it waited there", () => {
    const r = succeededReport();
    const dir = r.steps.find((s) => s.kind === 'preflight')!.targets.find((t) => t.target === 'directory')!;
    dir.changed = { ...dir.changed, perServer: ['dc1', 'dc2', 'dc3'].map((server) => ({ server, old: 36, new: 0, error: null })) };
    const unbind = r.steps.find((s) => s.kind === 'unbind-old-key')!;
    const guard: UnbindGuardRecord = {
      guard: [
        { server: 'dc1', old: 0, new: 36, waitedMs: 40, error: null, allowed: false },
        { server: 'dc2', old: 0, new: 36, waitedMs: 4_260, error: null, allowed: false },
        { server: 'dc3', old: null, new: null, waitedMs: null, error: 'connection refused', allowed: true },
      ],
    };
    unbind.targets.unshift({ target: 'directory', status: 'ok', message: 'the census let the unbind go', changed: guard });
    expect(buildModel(r).guardCensus).toEqual(guard.guard);
    const html = renderHtmlReport(r);
    const at = html.indexOf('data-testid="census-guard"');
    const table = html.slice(at, html.indexOf('</table>', at));
    expect(table).toContain('<th class="num">Waited</th>');
    expect(table).toContain('<tr><td>dc1</td><td class="num">0</td><td class="num">36</td><td class="num">0.0 s</td></tr>');
    expect(table).toContain('<tr><td>dc2</td><td class="num">0</td><td class="num">36</td><td class="num">4.3 s</td></tr>');
    expect(table).toContain('unreachable (accepted by allowUnreachable): connection refused');
    // Next to the table preflight read, whose note is kept as it was.
    expect(html.indexOf('Per directory server, before the run')).toBeGreaterThan(0);
    expect(html.indexOf('Per directory server, before the unbind')).toBeGreaterThan(html.indexOf('Per directory server, before the run'));
    expect(html).toContain('The old key is unbound only once every server the appliances read shows no device under the old certificate (docs/directory.md).');
    // One server: the figures are in report.json, the page shows no table for them.
    unbind.targets[0].changed = { guard: guard.guard.slice(0, 1) };
    expect(renderHtmlReport(r)).not.toContain('census-guard');
    expect(renderHtmlReport(succeededReport())).not.toContain('census-guard');
  });
});
