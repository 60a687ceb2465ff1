// A run killed in the middle of the re-encryption (SIGKILL: no chance to clean up) is finished
// by `resume` from its journal and then undone by `rollback`; Ctrl-C stops safely with 130.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, loadKeyMaterial, readSecrets } from '../../src/otp/index.js';
import { CLI } from '../helpers/cli.js';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';

let lab: E2eLab;
let before: Snapshot;

beforeAll(async () => {
  lab = await startE2eLab({ users: 120, appliances: 1 });
  before = await lab.snapshot();
});
afterAll(async () => lab?.stop());

/** Starts a run slowed down by a rate limit and sends `signal` once the directory step is writing. */
async function runAndStop(signal: NodeJS.Signals): Promise<{ runId: string; code: number | null }> {
  const home = join(lab.root, 'home');
  const known = new Set(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []);
  const child = spawn(process.execPath, [CLI, 'run', CUTOVER, '-i', lab.inventory, '--yes', '--json', '--set', 'rate=40'], {
    cwd: lab.root,
    env: { ...process.env, CI: 'true', ADC_CUTOVER_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  // Wait until some entries are written: the journal holds the intent and progress has moved.
  while (!/"type":"progress","step":"rekey-directory".*"done":[1-9]\d/.test(out)) {
    if (Date.now() > deadline) throw new Error(`the directory step never got going:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill(signal);
  const code = await exited;
  const runId = readdirSync(join(home, 'runs')).find((d) => !known.has(d))!;
  return { runId, code };
}

describe('crash, resume, rollback', () => {
  it('SIGKILL mid re-encryption: every value is whole; resume finishes the job; rollback restores everything', async () => {
    const { runId, code } = await runAndStop('SIGKILL');
    expect(code).toBeNull(); // killed, not exited
    const journal = readFileSync(join(lab.root, 'home', 'runs', runId, 'events.jsonl'), 'utf8');
    expect(journal).not.toContain('"type":"run-end"');

    // Nothing half-written: each value is the original or a complete re-encryption.
    const newKey = await loadKeyMaterial({ cert: lab.status.certs.new.cert, key: lab.status.certs.new.key });
    const oldKey = await loadKeyMaterial({ cert: lab.status.certs.old.cert, key: lab.status.certs.old.key });
    const mid = await lab.snapshot();
    let moved = 0;
    for (const u of lab.users().filter((x) => x.kind === 'single' || x.kind === 'multi')) {
      const dn = u.dn.toLowerCase();
      if (mid.directory[dn][0] === before.directory[dn][0]) continue;
      expect(readSecrets(mid.directory[dn][0], new Keyring([newKey])).devices.map((d) => d.secret)).toEqual(u.devices.map((d) => d.secret));
      moved++;
    }
    expect(moved).toBeGreaterThan(0);

    const shown = await lab.cli(['show', runId]);
    expect(shown.stdout).toMatch(/running|interrupted/);

    const resumed = await lab.cli(['resume', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = await lab.snapshot();
    for (const u of lab.users().filter((x) => x.kind === 'single' || x.kind === 'multi')) {
      const read = readSecrets(after.directory[u.dn.toLowerCase()][0], new Keyring([newKey]));
      expect(read.devices.map((d) => d.secret)).toEqual(u.devices.map((d) => d.secret));
    }
    expect(Object.values(after.appliances).map((a) => a.bindings)).toEqual([[expect.stringMatching(/^otp-enc-/)]]);

    const undone = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 120_000 });
    expect(undone.code, undone.stderr).toBe(0);
    const restored = await lab.snapshot();
    expect(restored).toEqual(before);
    // The old key reads every original again.
    const canary = restored.directory[Object.keys(restored.directory).find((dn) => dn.startsWith('cn=canary'))!][0];
    expect(readSecrets(canary, new Keyring([oldKey])).devices).toHaveLength(1);
  }, 180_000);

  it('Ctrl-C stops after the current write with exit 130 and says how to go on; rollback undoes it', async () => {
    const { runId, code } = await runAndStop('SIGINT');
    expect(code).toBe(130);
    const report = await lab.cli(['show', runId, '--json']);
    expect(JSON.parse(report.stdout)).toMatchObject({ status: 'interrupted', exitCode: 130 });
    const undone = await lab.cli(['rollback', runId, '--yes'], { timeoutMs: 120_000 });
    expect(undone.code, undone.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 120_000);
});
