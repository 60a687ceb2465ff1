// The engine with its crypto in worker threads (cryptoWorkers): the same outcome as without,
// entry for entry — every secret survives under the new key, the backup holds every original
// and restores it byte for byte. The pool threads run the compiled worker: `npm run build` first.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runRekey, runRestore, type RunSummary } from '../../src/rekey/index.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';
import { holdsUnder, serviceConnect, snapshot } from './helpers.js';

let lab: TestDirectory;
const attribute = 'userParameters';

beforeAll(async () => {
  lab = await startTestDirectory({ users: 80 });
});

afterAll(async () => {
  await lab?.stop();
});

const run = (file: string, cryptoWorkers: number) =>
  runRekey({
    base: lab.slapd.usersDN,
    filter: '(objectClass=user)',
    attribute,
    connect: serviceConnect(lab),
    job: { kind: 'rekey', from: [lab.oldKey], to: lab.newKey },
    backupFile: join(lab.dir, file),
    concurrency: 3,
    groupSize: 6,
    pageSize: 13,
    cryptoWorkers,
  });

/** What must not depend on where the crypto ran. */
const outcome = (s: RunSummary) => ({ fetched: s.fetched, changed: s.changed, unchanged: s.unchanged, skipped: s.skipped, failed: s.failed, devices: s.devices, stopped: s.stopped });

it('two worker threads give the outcome of none; every secret survives; the backup restores byte for byte', async () => {
  const before = await snapshot(lab);
  const pooled = await run('pool.jsonl', 2);
  expect(pooled.failed).toEqual([]);
  expect(pooled.changed).toBeGreaterThan(30);
  const want = [
    ...lab.seed.users.filter((u) => u.kind === 'single' || u.kind === 'multi'),
    { dn: lab.seed.canary.dn, devices: [{ name: lab.seed.canary.deviceName, secret: lab.seed.canary.totpSecret }] },
  ];
  const after = await snapshot(lab);
  for (const u of want) expect(holdsUnder(after.get(u.dn.toLowerCase())![0], u.devices, lab.newKey), u.dn).toBe(true);

  const restored = await runRestore({ connect: serviceConnect(lab), backupFile: join(lab.dir, 'pool.jsonl'), keys: [lab.oldKey] });
  expect(restored.failed).toEqual([]);
  expect(restored.changed).toBe(pooled.changed);
  expect(await snapshot(lab)).toEqual(before);

  const plain = await run('plain.jsonl', 0);
  expect(outcome(pooled)).toEqual(outcome(plain));
});

it('a pool thread plans and checks a group exactly as the engine thread does', async () => {
  const { CryptoPool } = await import('../../src/rekey/crypto-pool.js');
  const { prepareJob } = await import('../../src/rekey/job.js');
  const { planAndCheck } = await import('../../src/rekey/plan-check.js');
  const job = { kind: 'rekey' as const, from: [lab.oldKey], to: lab.newKey };
  const local = prepareJob(job);
  const values = lab.seed.users.slice(0, 40).map((u) => (u.value === undefined ? [] : [u.value]));
  const pool = new CryptoPool(2, job, local);
  try {
    const threaded = await pool.plan(values);
    expect(pool.threaded).toBe(1);
    const here = planAndCheck(local, values);
    expect(threaded.bad).toEqual(here.bad);
    // New values carry fresh IVs: compare everything else, and check the thread's values read back as the originals.
    const strip = (p: (typeof here.plans)[number]) => (p.kind === 'write' ? { ...p, newValue: undefined } : p);
    expect(threaded.plans.map(strip)).toEqual(here.plans.map(strip));
    expect(threaded.plans.some((p) => p.kind === 'write')).toBe(true);
    const writes = threaded.plans.filter((p) => p.kind === 'write');
    expect(local.checkWrites(writes)).toEqual(writes.map(() => undefined));
  } finally {
    await pool.close();
  }
});
