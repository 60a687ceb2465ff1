// Stop requests by signal, on a real child process: one supervisor stop (a `timeout` expiry sends
// SIGTERM to the child and then to its process group; some send SIGINT and SIGTERM together) is
// one request — the run stops after the current write, journal and run-end kept, exit 130 —
// while two separate Ctrl-C presses still stop at once.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StopRequests } from '../../src/cli/stop-requests.js';
import { CLI } from '../helpers/cli.js';
import { startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { cutoverWithoutLogonChecks, jsonEvents } from '../reliability/check.js';

describe('StopRequests', () => {
  it('SIGTERM twice, or SIGTERM and SIGINT together, is one request; Ctrl-C twice is two', () => {
    const t = new StopRequests();
    expect([t.receive('SIGTERM', 0), t.receive('SIGTERM', 5), t.receive('SIGINT', 10), t.receive('SIGTERM', 60_000)]).toEqual(['safe-stop', 'same', 'same', 'same']);
    // A Ctrl-C pressed well after a supervisor's stop is a person insisting.
    expect(t.receive('SIGINT', 61_500)).toBe('force');
    const i = new StopRequests();
    expect([i.receive('SIGINT', 0), i.receive('SIGTERM', 3)]).toEqual(['safe-stop', 'same']);
    const c = new StopRequests();
    expect([c.receive('SIGINT', 0), c.receive('SIGINT', 400)]).toEqual(['safe-stop', 'force']);
  });
});

let lab: E2eLab;
let before: Snapshot;
let playbook: string;
beforeAll(async () => {
  lab = await startE2eLab({ users: 10, appliances: 1 });
  before = await lab.snapshot();
  playbook = cutoverWithoutLogonChecks(lab.root);
}, 60_000);
afterAll(async () => lab?.stop());

const HANG_MS = 4000;

/**
 * A run whose first write (the certificate upload) hangs for HANG_MS; `send` delivers the
 * signals once that write is under way. Returns the exit code, the events and when it exited.
 */
async function runAndSignal(send: (pid: number) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string; runId: string; exitedAfterMs: number }> {
  const home = join(lab.root, 'home');
  const known = new Set(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []);
  // The first POST systemfile of a run is its lock on the appliance: hang the certificate upload after it.
  await lab.fault('adc1', { on: 'POST systemfile', delayMs: HANG_MS, skip: 1 });
  // Its own process group, as under `timeout`: the group can be signalled as a whole.
  const child = spawn(process.execPath, [CLI, 'run', playbook, '-i', lab.inventory, '--yes', '--json'], {
    cwd: lab.root,
    env: { ...process.env, CI: 'true', ADC_CUTOVER_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/"type":"intent","id":\d+,"step":"import-certkey"/.test(stdout)) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the import never started:\n${stdout}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 300));
  const sentAt = Date.now();
  await send(child.pid!);
  const code = await exited;
  const exitedAfterMs = Date.now() - sentAt;
  await lab.clearFaults();
  const runId = readdirSync(join(home, 'runs')).find((d) => !known.has(d))!;
  return { code, stdout, stderr, runId, exitedAfterMs };
}

async function rollbackAndCompare(runId: string, leftHanging = false): Promise<void> {
  // A write a forced stop left hanging lands when its delay ends: undo only after that.
  if (leftHanging) await new Promise((r) => setTimeout(r, HANG_MS));
  const undone = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 60_000 });
  expect(undone.code, undone.stderr).toBe(0);
  expect(await lab.snapshot()).toEqual(before);
}

describe('stop requests by signal on a running cutover', () => {
  // The second signal a moment after the first: sent back to back, the kernel may merge two of
  // the same kind into one before the process runs, and the case would prove nothing.
  const moment = () => new Promise((res) => setTimeout(res, 100));
  it.each([
    { how: 'a timeout expiry (SIGTERM to the child, then to its process group)', first: 'SIGTERM', second: 'SIGTERM' },
    { how: 'SIGTERM and SIGINT together', first: 'SIGTERM', second: 'SIGINT' },
    { how: 'SIGINT and SIGTERM together', first: 'SIGINT', second: 'SIGTERM' },
  ] as const)(
    '$how is one request: the run stops after the current write, run-end journaled, exit 130',
    async ({ first, second }) => {
      const r = await runAndSignal(async (pid) => {
        process.kill(pid, first);
        await moment();
        process.kill(-pid, second);
      });
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr.match(/stopping after the current write/g)).toHaveLength(1);
      // The hung write was waited for, not abandoned.
      expect(r.exitedAfterMs).toBeGreaterThan(HANG_MS - 1000);
      expect(jsonEvents(r.stdout).at(-1)).toMatchObject({ type: 'run-end', status: 'interrupted', exitCode: 130 });
      await rollbackAndCompare(r.runId);
    },
    60_000,
  );

  it('two separate Ctrl-C presses still count as two: the second stops at once', async () => {
    const r = await runAndSignal(async (pid) => {
      process.kill(pid, 'SIGINT');
      await new Promise((res) => setTimeout(res, 1200));
      process.kill(pid, 'SIGINT');
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.exitedAfterMs).toBeLessThan(HANG_MS - 1000);
    expect(jsonEvents(r.stdout).filter((e) => e.type === 'run-end')).toEqual([]);
    await rollbackAndCompare(r.runId, true);
  }, 60_000);
});
