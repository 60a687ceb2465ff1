// The process dies at random points of a run (SIGKILL: no handler runs, only what the journal
// fsync'd survives), then the same journal is resumed or rolled back; and slapd dies in the
// middle of the re-encryption. After each: every directory value is the original or a complete
// re-encryption, and in the end everything is exactly as before. The points are drawn from a
// seeded generator, so a failure names a point that can be replayed (RELIABILITY_SEED=…).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../helpers/prng.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_NITRO_SETTLE_MS, LAB_NITRO_TIMEOUT_MS } from '../../src/lab/inventory.js';
import { stopPid } from '../../src/lab/processes.js';
import { SLAPD_PATH } from '../../src/lab/slapd.js';
import type { Keyring } from '../../src/otp/index.js';
import { CLI } from '../helpers/cli.js';
import { startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { waitForBind } from '../helpers/directory.js';
import { applianceCount, compareValues, cutoverWithoutLogonChecks, jsonEvents, labKeyring, expectAsBefore } from './check.js';
import { FigureLog } from './figures.js';
import { sized } from './size.js';

const SEED = Number(process.env['RELIABILITY_SEED'] ?? 20260609);
// npm test kills at 3 points (the first 3 of the same seeded draw); npm run test:long at 10.
const POINTS = sized('RELIABILITY_KILL_POINTS', 3, 10);

let lab: E2eLab;
let before: Snapshot;
let keyring: Keyring;
let playbook: string;
let totalEvents = 0;
let restartedSlapd: number | undefined;
const figures = new FigureLog(
  'faults-kill',
  'Faults: the process killed, slapd killed',
  `SIGKILL of the CLI at ${POINTS} points drawn from a seeded generator (seed ${SEED}) among the events of a run (the cutover without its logon checks, rate-limited so points land inside the re-encryption too), on the lab with 120 users and 2 appliances; each journal is then resumed and rolled back, or rolled back directly. Then slapd stopped in the middle of the re-encryption.`,
);

beforeAll(async () => {
  lab = await startE2eLab({ users: 120, appliances: 2 });
  before = await lab.snapshot();
  keyring = await labKeyring(lab);
  playbook = cutoverWithoutLogonChecks(lab.root, ['rate: 400']);
}, 60_000);
afterAll(async () => {
  figures.write();
  if (restartedSlapd !== undefined) await stopPid(restartedSlapd, { pidFile: join(lab.labDir, 'slapd', 'slapd.pid') });
  await lab?.stop();
});

const home = () => join(lab.root, 'home');

/** Runs the playbook; SIGKILLs it once `killAt` event lines have been printed (never, if undefined). */
async function runUntil(killAt: number | undefined): Promise<{ runId: string; code: number | null; events: number; lastEvent: string }> {
  const known = new Set(existsSync(join(home(), 'runs')) ? readdirSync(join(home(), 'runs')) : []);
  const child = spawn(process.execPath, [CLI, 'run', playbook, '-i', lab.inventory, '--yes', '--json'], {
    cwd: lab.root,
    env: { ...process.env, CI: 'true', ADC_CUTOVER_HOME: home() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let lines = 0;
  let lastEvent = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const all = out.split('\n').filter((l) => l.startsWith('{'));
    lines = all.length;
    if (killAt !== undefined && lines >= killAt && child.exitCode === null && !child.killed) {
      const e = JSON.parse(all[killAt - 1]) as Record<string, unknown>;
      lastEvent = `${String(e['type'])}${e['step'] ? ` ${String(e['step'])}` : ''}`;
      child.kill('SIGKILL');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const runId = readdirSync(join(home(), 'runs')).find((d) => !known.has(d))!;
  return { runId, code, events: lines, lastEvent };
}

/** Changes whose write request had been sent, with no `done`, in a step that never ended; and when it left. */
function inFlight(journal: string): { label: string; sentAt: number }[] {
  const recs = journal
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const open = new Map<number, { step: string; label: string; sentAt?: number }>();
  for (const r of recs) {
    if (r['type'] === 'intent') open.set(Number(r['id']), { step: String(r['step']), label: `${String(r['action'])} on ${String(r['target'])}` });
    if (r['type'] === 'write-sent') {
      const o = open.get(Number(r['id']));
      if (o) o.sentAt = Date.parse(String(r['t']));
    }
    if (r['type'] === 'done') open.delete(Number(r['id']));
    if (r['type'] === 'step-end') for (const [id, o] of open) if (o.step === r['step']) open.delete(id);
  }
  return [...open.values()].filter((o) => o.sentAt !== undefined).map((o) => ({ label: o.label, sentAt: o.sentAt! }));
}

describe('SIGKILL at seeded random points, then resume or rollback from the journal', () => {
  it('a whole run, to count its events (the points are drawn among them); rollback restores', async () => {
    const r = await runUntil(undefined);
    expect(r.code).toBe(0);
    totalEvents = r.events;
    expect(totalEvents).toBeGreaterThan(20);
    const undone = await lab.cli(['rollback', r.runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 60_000);

  const rand = prng(SEED);
  const points = Array.from({ length: POINTS }, (_, i) => ({ i, frac: rand(), then: i % 2 === 0 ? 'resume, then rollback' : 'rollback' }));
  it.each(points)(
    'point $i: killed, then $then',
    async ({ frac, then }) => {
      // Never the last event: after run-end there is nothing left to interrupt.
      const killAt = 2 + Math.floor(frac * (totalEvents - 3));
      const r = await runUntil(killAt);
      expect(r.code, `exited before event ${killAt} of ${totalEvents}`).toBeNull();
      const journal = readFileSync(join(home(), 'runs', r.runId, 'events.jsonl'), 'utf8');
      expect(journal).not.toContain('"type":"run-end"');

      // Right after the kill: nothing half-written.
      const mid = compareValues(before.directory, (await lab.snapshot()).directory, keyring);
      expect(mid.bad).toEqual([]);
      const shown = JSON.parse((await lab.cli(['show', r.runId, '--json'])).stdout) as { status: string };
      expect(shown.status).toMatch(/running|interrupted/);

      let checked = mid.checked;
      if (then.startsWith('resume')) {
        const resumed = await lab.cli(['resume', r.runId, '--yes', '--json'], { timeoutMs: 60_000 });
        expect(resumed.code, resumed.stderr + resumed.stdout.slice(-1500)).toBe(0);
        const done = await lab.snapshot();
        const moved = compareValues(before.directory, done.directory, keyring);
        expect(moved.bad).toEqual([]);
        // Resumed to the end: every value under the old key moved, and only the new key is bound.
        expect(moved.reencrypted).toBe(lab.users().filter((u) => u.kind === 'single' || u.kind === 'multi').length + lab.status.canaries.length);
        for (const a of Object.values(done.appliances)) expect(a.bindings).toEqual([expect.stringMatching(/^otp-enc-/)]);
        checked += moved.checked;
      }
      const rollbackAt = Date.now();
      const undone = await lab.cli(['rollback', r.runId, '--yes', '--json'], { timeoutMs: 60_000 });
      expect(undone.code, undone.stderr + undone.stdout.slice(-1500)).toBe(0);
      if (then === 'rollback') {
        // A write request that had left when the process died may still land: its undo waits
        // until the lab's call timeout and settle window from when it left have passed, and only
        // then. A rollback that starts after that (a loaded machine is slow to get there) has
        // nothing left to wait for. Within 2 s of the end of the window either may be seen: the
        // rollback reads the journal a moment after it starts.
        const waited = /was under way when the run stopped: waiting/.test(undone.stdout);
        const pending = inFlight(journal);
        const windowEnds = Math.max(0, ...pending.map((p) => p.sentAt + LAB_NITRO_TIMEOUT_MS + LAB_NITRO_SETTLE_MS));
        const said = `in flight at the kill: ${pending.map((p) => `${p.label}, window ending ${windowEnds - rollbackAt} ms after the rollback started`).join('; ') || 'none'}`;
        if (pending.length === 0 || windowEnds < rollbackAt) expect(waited, said).toBe(false);
        else if (windowEnds > rollbackAt + 2000) expect(waited, said).toBe(true);
      }
      const { after, v } = await expectAsBefore(lab, before, keyring);
      figures.add({
        case: `SIGKILL after event ${killAt}/${totalEvents} (${r.lastEvent})`,
        kind: 'SIGKILL',
        outcome: `${then}: exit 0, everything as before`,
        exitCode: undone.code,
        entriesChecked: checked + v.checked,
        lost: v.bad.length,
        appliancesChecked: applianceCount(after),
      });
    },
    60_000,
  );
});

/** The same slapd.conf and database on the same ports: what an operator's restart does. */
async function restartSlapd(): Promise<void> {
  const dir = join(lab.labDir, 'slapd');
  const logFd = openSync(join(dir, 'slapd-restart.log'), 'w', 0o600);
  const child = spawn(SLAPD_PATH, ['-f', join(dir, 'slapd.conf'), '-h', `${lab.state.slapd.url}/ ${lab.state.slapd.ldapsUrl}/`, '-d', 'none'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  restartedSlapd = child.pid;
  const password = readFileSync(lab.state.slapd.rootPasswordFile, 'utf8').trim();
  await waitForBind(lab.state.slapd.url, lab.state.slapd.rootDN, password);
}

describe('slapd dies in the middle of the re-encryption', () => {
  it('the run stops, cannot restore (exit 3, says what to do), nothing half-written; after a restart, rollback restores everything', async () => {
    const known = new Set(readdirSync(join(home(), 'runs')));
    const child = spawn(process.execPath, [CLI, 'run', playbook, '-i', lab.inventory, '--yes', '--json'], {
      cwd: lab.root,
      env: { ...process.env, CI: 'true', ADC_CUTOVER_HOME: home() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let stopping: Promise<unknown> | undefined;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!stopping && /"type":"progress","step":"rekey-directory".*"done":[1-9]\d/.test(out)) {
        stopping = stopPid(lab.state.slapd.pid, { pidFile: join(lab.labDir, 'slapd', 'slapd.pid') });
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await stopping;
    expect(stopping, 'the re-encryption never got going').toBeDefined();
    const events = jsonEvents(out);
    const end = events.at(-1);
    // The directory is gone, so its rollback cannot run: the truthful answer is exit 3.
    expect(code, err + out.slice(-2000)).toBe(3);
    expect(end).toMatchObject({ type: 'run-end', status: 'rollback-incomplete', exitCode: 3 });
    const runId = readdirSync(join(home(), 'runs')).find((d) => !known.has(d))!;
    const report = JSON.parse((await lab.cli(['show', runId, '--json'])).stdout) as { actionsRequired: string[] };
    expect(report.actionsRequired.join('\n')).toMatch(/directory|backup|rollback/i);

    await restartSlapd();
    const mid = compareValues(before.directory, (await lab.snapshot()).directory, keyring);
    expect(mid.bad).toEqual([]);
    const undone = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr + undone.stdout.slice(-1500)).toBe(0);
    const { after, v } = await expectAsBefore(lab, before, keyring);
    figures.add({
      case: 'slapd stopped after 10+ entries re-encrypted; restarted; rollback',
      kind: 'slapd killed',
      outcome: 'exit 3 (rollback incomplete, actions listed); after the restart rollback exit 0, everything as before',
      exitCode: code,
      entriesChecked: mid.checked + v.checked,
      lost: mid.bad.length + v.bad.length,
      appliancesChecked: applianceCount(after),
    });
  }, 80_000);
});
