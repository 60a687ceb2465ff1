// slapd dies in the middle of a run: the run stops with an error, no value is half-written
// (each is the original or the fully re-keyed one), and a second run after a restart of the
// same database finishes the job.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SLAPD_PATH } from '../../src/lab/slapd.js';
import { stopPid } from '../../src/lab/processes.js';
import { runRekey } from '../../src/rekey/index.js';
import { startTestDirectory, waitForBind, type TestDirectory } from '../helpers/directory.js';
import { holdsUnder, serviceConnect, snapshot } from './helpers.js';

let lab: TestDirectory;
let restartedPid: number | undefined;

beforeAll(async () => {
  lab = await startTestDirectory({ users: 200 });
});

afterAll(async () => {
  if (restartedPid !== undefined) await stopPid(restartedPid, { pidFile: lab.slapd.files.pidFile });
  await lab?.stop();
});

/** The same slapd.conf and database, on the same ports: what an operator's restart does. */
async function restartSlapd(): Promise<void> {
  const s = lab.slapd;
  const log = openSync(join(s.dir, 'slapd-restart.log'), 'w', 0o600);
  const child = spawn('sh', ['-c', 'ulimit -n 4096 2>/dev/null; exec "$0" "$@"', SLAPD_PATH, '-f', s.files.conf, '-h', `${s.url}/ ${s.ldapsUrl}/`, '-d', 'none'], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  restartedPid = child.pid;
  await waitForBind(s.url, s.rootDN, s.rootPassword);
}

it('stops with an error when slapd goes away, leaves nothing half-written, and a second run finishes', async () => {
  const enrolled = [
    ...lab.seed.users.filter((u) => u.kind === 'single' || u.kind === 'multi'),
    { ...lab.seed.canary, devices: [{ name: lab.seed.canary.deviceName, secret: lab.seed.canary.totpSecret }] },
  ];
  let killing: Promise<unknown> | undefined;
  const job = { kind: 'rekey' as const, from: [lab.oldKey], to: lab.newKey };
  const base = { base: lab.slapd.usersDN, filter: '(objectClass=user)', attribute: 'userParameters' };
  const s = await runRekey({
    ...base,
    job,
    connect: serviceConnect(lab, { timeoutMs: 3000 }),
    backupFile: join(lab.dir, 'b1.jsonl'),
    concurrency: 2,
    groupSize: 5,
    pageSize: 20,
    rate: 600,
    onProgress: (p) => {
      if (p.done >= 40 && !killing) killing = lab.slapd.stop();
    },
  });
  await killing;
  expect(s.stopped?.reason).toBe('directory-unavailable');
  expect(s.stopped?.message).toMatch(/unavailable|ECONNREFUSED|closed|socket/i);
  expect(s.changed).toBeGreaterThan(0);
  expect(s.changed).toBeLessThan(enrolled.length);

  await restartSlapd();
  const snap = await snapshot(lab);
  let moved = 0;
  for (const u of enrolled) {
    const [v] = snap.get(u.dn.toLowerCase())!;
    if (v === u.value) continue;
    expect(holdsUnder(v, u.devices, lab.newKey), u.dn).toBe(true);
    moved++;
  }
  // Writes whose reply was lost may have landed: at least what the run counted, never a mix.
  expect(moved).toBeGreaterThanOrEqual(s.changed);

  const again = await runRekey({ ...base, job, connect: serviceConnect(lab), backupFile: join(lab.dir, 'b2.jsonl'), concurrency: 2 });
  expect(again.failed).toEqual([]);
  expect(again.changed + again.unchanged).toBe(enrolled.length);
  const done = await snapshot(lab);
  for (const u of enrolled) expect(holdsUnder(done.get(u.dn.toLowerCase())![0], u.devices, lab.newKey), u.dn).toBe(true);
});
