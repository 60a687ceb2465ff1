// What every reliability test checks after a fault: each directory value is the original byte
// for byte, or a complete re-encryption that reads back to exactly the same secrets (never gone,
// never half-written); the appliances are where the report says. Plus small helpers to derive
// lab inputs (an inventory with a short NITRO timeout, playbooks without the logon checks).
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parse, stringify } from 'yaml';
import { Keyring, loadKeyMaterial, readSecrets } from '../../src/otp/index.js';
import type { E2eLab, Snapshot } from '../helpers/e2e.js';

export interface ValueCheck {
  checked: number;
  same: number;
  reencrypted: number;
  /** DNs whose value is gone, unreadable, or reads to other secrets than before. */
  bad: string[];
}

/**
 * The end every rollback must reach: every appliance as in `before`, every directory value the
 * original byte for byte. Returns the snapshot and the value check, for the figures.
 */
export async function expectAsBefore(lab: E2eLab, before: Snapshot, keyring: Keyring): Promise<{ after: Snapshot; v: ValueCheck }> {
  const after = await lab.snapshot();
  expect(after.appliances).toEqual(before.appliances);
  const v = compareValues(before.directory, after.directory, keyring);
  expect(v.bad).toEqual([]);
  expect(v.same).toBe(v.checked);
  return { after, v };
}

/** Both lab keys: a value is whole when it reads under one of them. */
export async function labKeyring(lab: E2eLab): Promise<Keyring> {
  const { old, new: neu } = lab.status.certs;
  return new Keyring([await loadKeyMaterial({ cert: old.cert, key: old.key }), await loadKeyMaterial({ cert: neu.cert, key: neu.key })]);
}

function secretsOf(value: string, keyring: Keyring): string {
  const devices = readSecrets(value, keyring)
    .devices.map((d) => `${d.name}=${d.secret}`)
    .sort();
  return devices.join(',');
}

/**
 * Every DN of `before` is compared: the same value list, or (per value) one that reads to the
 * same devices and secrets. `mayGrow` may give DNs whose devices may have grown (concurrent
 * registrations): then the old devices must all still be there.
 */
export function compareValues(before: Snapshot['directory'], after: Snapshot['directory'], keyring: Keyring, opts: { mayGrow?: Set<string> } = {}): ValueCheck {
  const out: ValueCheck = { checked: 0, same: 0, reencrypted: 0, bad: [] };
  for (const [dn, was] of Object.entries(before)) {
    out.checked++;
    const now = after[dn];
    if (!now) {
      out.bad.push(`${dn}: entry gone`);
      continue;
    }
    if (JSON.stringify(now) === JSON.stringify(was)) {
      out.same++;
      continue;
    }
    if (was.length === 0 && now.length === 1 && opts.mayGrow?.has(dn)) {
      // A first device registered meanwhile: the caller checks that device itself.
      out.reencrypted++;
      continue;
    }
    if (now.length !== was.length) {
      out.bad.push(`${dn}: ${was.length} value(s) before, ${now.length} now`);
      continue;
    }
    let ok = true;
    for (let i = 0; i < was.length; i++) {
      if (now[i] === was[i]) continue;
      try {
        const a = secretsOf(was[i], keyring);
        const b = secretsOf(now[i], keyring);
        const grown = opts.mayGrow?.has(dn) && a.split(',').every((d) => b.split(',').includes(d));
        if (a !== b && !grown) {
          ok = false;
          out.bad.push(`${dn}: the value reads to other devices or secrets than before`);
        }
      } catch (err) {
        ok = false;
        out.bad.push(`${dn}: changed and unreadable (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    if (ok) out.reencrypted++;
  }
  return out;
}

/** The appliance half of a snapshot, as comparable text (one entry per appliance). */
export function applianceCount(s: Snapshot): number {
  return Object.keys(s.appliances).length * 4;
}

/** A copy of the lab inventory beside it (relative paths keep working) with edits applied. */
export function deriveInventory(lab: E2eLab, name: string, edit: (doc: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(lab.inventory, 'utf8')) as Record<string, unknown>;
  edit(doc);
  const file = join(dirname(lab.inventory), name);
  writeFileSync(file, stringify(doc, { lineWidth: 0 }));
  return file;
}

/**
 * The cutover without its logon checks: the checks wait for a fresh 30-second TOTP step (a code
 * a gateway accepted is never sent again), which would make every fault case cost up to a
 * minute; what these tests exercise is the writes, the journal and the rollback.
 */
/** `swapPhase`: also the swap-phase bind after the unbind, as the shipped playbook has it. */
export function cutoverWithoutLogonChecks(dir: string, extra: string[] = [], swapPhase = false): string {
  const file = join(dir, swapPhase ? 'cutover-no-logon-swap.yaml' : 'cutover-no-logon.yaml');
  writeFileSync(
    file,
    [
      'name: otp-cert-cutover-reliability',
      'description: the shipped cutover without its logon checks (tests of writes, journal and rollback)',
      'params:',
      '  mode: overlap',
      ...extra.map((l) => `  ${l}`),
      'steps:',
      '  - uses: preflight',
      '  - uses: import-certkey',
      '  - uses: bind-new-key',
      '    with: { phase: overlap }',
      '  - uses: rekey-directory',
      '  - uses: unbind-old-key',
      ...(swapPhase ? ['  - uses: bind-new-key', '    with: { phase: swap }'] : []),
      '  - uses: save-config',
      '',
    ].join('\n'),
  );
  return file;
}

export interface JsonEvent {
  type: string;
  [k: string]: unknown;
}

export function jsonEvents(stdout: string): JsonEvent[] {
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  // A process killed mid-line leaves its last line torn: that one alone may not parse.
  return lines.flatMap((l, i) => {
    try {
      return [JSON.parse(l) as JsonEvent];
    } catch (err) {
      if (i === lines.length - 1) return [];
      throw err;
    }
  });
}

/** One raw NITRO request to a lab appliance (per-request credentials), as another admin's client would send it. */
export async function nitroAs(lab: E2eLab, appliance: string, method: string, path: string, json?: Record<string, unknown>): Promise<{ status: number; body: string }> {
  const a = lab.status.appliances.find((x) => x.name === appliance);
  if (!a) throw new Error(`no appliance ${appliance}`);
  const ca = readFileSync(join(lab.labDir, 'pki', 'ca.pem'), 'utf8');
  const password = readFileSync(a.passwordFile, 'utf8').trim();
  return new Promise((resolve, reject) => {
    const payload = json === undefined ? undefined : JSON.stringify(json);
    const headers: Record<string, string | number> = { 'X-NITRO-USER': a.username, 'X-NITRO-PASS': password };
    if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    const req = httpsRequest(new URL(path, a.nitroUrl), { method, ca, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
