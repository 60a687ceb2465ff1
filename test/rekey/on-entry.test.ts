// runRekey's onEntry against a real slapd: one report per entry, with its final outcome (after a
// compare-and-swap conflict and retry too), agreeing with the summary's counts; never a value or
// a secret; and a callback that throws stops the run instead of leaving a gap in the caller's log.
import { join } from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DirectoryClient } from '../../src/directory/index.js';
import { encryptValue } from '../../src/otp/index.js';
import { runRekey, runRestore, type EntryReport, type RunSummary } from '../../src/rekey/index.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';
import { holdsUnder, rootClient, serviceConnect, snapshot } from './helpers.js';

let lab: TestDirectory;
let root: Client;
let backups = 0;
const attribute = 'userParameters';
const newBackup = () => join(lab.dir, `backup-${++backups}.jsonl`);
const base = () => ({ base: lab.slapd.usersDN, filter: '(objectClass=user)', attribute });
const rekeyJob = () => ({ kind: 'rekey' as const, from: [lab.oldKey], to: lab.newKey });

beforeAll(async () => {
  lab = await startTestDirectory({ users: 60 });
  root = await rootClient(lab);
});

afterAll(async () => {
  await root?.unbind().catch(() => undefined);
  await lab?.stop();
});

/** The summary's counts, rebuilt from the reports alone. */
function tally(reports: EntryReport[]): Pick<RunSummary, 'changed' | 'unchanged' | 'skipped' | 'failed' | 'devices'> {
  const t: ReturnType<typeof tally> = { changed: 0, unchanged: 0, skipped: {}, failed: [], devices: {} };
  for (const r of reports) {
    for (const d of r.devices) t.devices[d.action] = (t.devices[d.action] ?? 0) + 1;
    if (r.outcome.kind === 'changed') t.changed++;
    else if (r.outcome.kind === 'unchanged') t.unchanged++;
    else if (r.outcome.kind === 'skipped') t.skipped[r.outcome.reason] = (t.skipped[r.outcome.reason] ?? 0) + 1;
    else t.failed.push({ dn: r.dn, reason: r.outcome.reason });
  }
  return t;
}

async function restore(file: string): Promise<void> {
  const r = await runRestore({ connect: serviceConnect(lab), backupFile: file, keys: [lab.oldKey] });
  expect(r.failed).toEqual([]);
}

it('reports every entry once, as the summary counts it, with its devices and no value or secret', async () => {
  const reports: EntryReport[] = [];
  const file = newBackup();
  const s = await runRekey({ ...base(), connect: serviceConnect(lab), job: rekeyJob(), backupFile: file, concurrency: 3, groupSize: 7, pageSize: 11, onEntry: (r) => reports.push(r) });
  try {
    expect(reports.length).toBe(s.fetched);
    expect(new Set(reports.map((r) => r.dn.toLowerCase())).size).toBe(reports.length);
    expect(tally(reports)).toEqual({ changed: s.changed, unchanged: s.unchanged, skipped: s.skipped, failed: s.failed, devices: s.devices });
    expect(s.changed).toBeGreaterThan(0);
    expect(Object.keys(s.skipped).length).toBeGreaterThan(0);

    const byDn = new Map(reports.map((r) => [r.dn.toLowerCase(), r]));
    for (const u of lab.seed.users.filter((x) => x.kind === 'single' || x.kind === 'multi')) {
      const r = byDn.get(u.dn.toLowerCase());
      expect(r?.outcome, u.dn).toEqual({ kind: 'changed' });
      expect(r?.devices.map((d) => [d.name, d.action, d.kid]).sort(), u.dn).toEqual(u.devices.map((d) => [d.name, 'rekeyed', lab.oldKey.kidText]).sort());
    }
    for (const u of lab.seed.users.filter((x) => x.kind === 'legacy')) {
      expect(byDn.get(u.dn.toLowerCase())?.outcome, u.dn).toEqual({ kind: 'skipped', reason: 'legacy (not asked to encrypt)' });
    }
    for (const u of lab.seed.users.filter((x) => x.kind === 'none')) expect(byDn.has(u.dn.toLowerCase()), u.dn).toBe(false);

    const text = JSON.stringify(reports);
    for (const u of lab.seed.users) {
      for (const d of u.devices) expect(text).not.toContain(d.secret);
      if (u.value) expect(text).not.toContain(u.value.slice(20, 60));
    }
  } finally {
    await restore(file);
  }
});

it('an entry that changed under the run is reported once, with the outcome and devices of its retry', async () => {
  const user = lab.seed.users.find((u) => u.kind === 'single')!;
  const added = { name: 'tablet', secret: 'KRSXG5CTMVRXEZLUKRSXG5CTMU' };
  let raced = false;
  const connect = async (): Promise<DirectoryClient> => {
    const c = await serviceConnect(lab)();
    const modify = c.modify.bind(c);
    c.modify = async (dn, changes, codes) => {
      if (dn === user.dn && !raced) {
        raced = true;
        // Another writer (a registration) replaces the value the engine read, just before its write.
        const value = encryptValue([...user.devices, added], lab.oldKey);
        await root.modify(user.dn, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [value] }) }));
      }
      return modify(dn, changes, codes);
    };
    return c;
  };
  const reports: EntryReport[] = [];
  const file = newBackup();
  const s = await runRekey({ ...base(), connect, job: rekeyJob(), backupFile: file, concurrency: 2, onEntry: (r) => reports.push(r) });
  try {
    expect(raced).toBe(true);
    expect(s.retried).toBeGreaterThanOrEqual(1);
    const mine = reports.filter((r) => r.dn.toLowerCase() === user.dn.toLowerCase());
    expect(mine).toHaveLength(1);
    expect(mine[0].outcome).toEqual({ kind: 'changed' });
    expect(mine[0].devices.map((d) => d.name).sort()).toEqual([...user.devices.map((d) => d.name), added.name].sort());
    expect(tally(reports).devices).toEqual(s.devices);
    expect(holdsUnder((await snapshot(lab)).get(user.dn.toLowerCase())![0], [...user.devices, added], lab.newKey)).toBe(true);
  } finally {
    await restore(file);
    await root.modify(user.dn, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [user.value!] }) }));
  }
});

it('a callback that throws stops the run (report-failed, naming the DN); what was written is whole and restorable', async () => {
  const reports: EntryReport[] = [];
  const file = newBackup();
  const s = await runRekey({
    ...base(),
    connect: serviceConnect(lab),
    job: rekeyJob(),
    backupFile: file,
    concurrency: 1,
    groupSize: 4,
    pageSize: 8,
    onEntry: (r) => {
      reports.push(r);
      if (reports.length === 3) throw new Error('log disk full');
    },
  });
  expect(s.stopped?.reason).toBe('report-failed');
  expect(s.stopped?.message).toContain(reports[2].dn);
  expect(s.stopped?.message).toContain('log disk full');
  const withValue = lab.seed.users.filter((u) => u.value !== undefined).length + 1;
  expect(s.fetched).toBeLessThan(withValue);
  // Every entry the engine finished was still reported, the one that threw included.
  expect(reports.length).toBe(s.fetched);
  await restore(file);
  const snap = await snapshot(lab);
  for (const u of lab.seed.users) expect(snap.get(u.dn.toLowerCase()) ?? [], u.dn).toEqual(u.value === undefined ? [] : [u.value]);
});

it('a dry run reports what would change, and writes nothing', async () => {
  const reports: EntryReport[] = [];
  const before = await snapshot(lab);
  const s = await runRekey({ ...base(), connect: serviceConnect(lab, { dryRun: true }), job: rekeyJob(), onEntry: (r) => reports.push(r) });
  expect(s.dryRun).toBe(true);
  expect(reports.filter((r) => r.outcome.kind === 'changed').length).toBe(s.changed);
  expect(s.changed).toBeGreaterThan(0);
  expect(await snapshot(lab)).toEqual(before);
});
