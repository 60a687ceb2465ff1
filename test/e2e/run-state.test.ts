// Which command may go on with a run, with which files, and who may work on an estate at all
// (issue 15, scenarios 4, 6 and 7), on the lab, with nobody locked out after any command (judged
// from outside, test/helpers/invariant.ts; no case holds a reply past the client's wait but the
// first, whose hung write is waited for where it lands):
// - a run stopped during its own rollback, or whose rollback ended incomplete, can only be
//   finished by `rollback`; `resume` is refused;
// - `resume` and `rollback` refuse files other than those the run started with;
// - the lock is on the estate: two working directories, another path to the same inventory, or
//   another host (another lock directory) cannot run at once; a stale lock of another run on an
//   appliance is refused, and `--break-lock` removes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NitroClient, uploadSystemFile } from '../../src/nitro/index.js';
import type { Keyring } from '../../src/otp/index.js';
import { CLI, runCli, type CliResult } from '../helpers/cli.js';
import { startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { lockedOutAfter, NO_LATE_WRITES_MS } from '../helpers/invariant.js';
import { cutoverWithoutLogonChecks, deriveInventory, expectAsBefore, jsonEvents, labKeyring } from '../reliability/check.js';

const LOCK_FILE = 'adc-cutover.lock';

let lab: E2eLab;
let before: Snapshot;
let keyring: Keyring;
let playbook: string;

beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 2 });
  before = await lab.snapshot();
  keyring = await labKeyring(lab);
  playbook = cutoverWithoutLogonChecks(lab.root);
}, 60_000);
afterAll(async () => lab?.stop());

interface Started {
  child: ChildProcess;
  stdout: () => string;
  /** Resolves once a stdout line matches. */
  seen: (re: RegExp) => Promise<string>;
  exited: Promise<CliResult>;
}

/** The CLI in `cwd` (its own state home unless `env` says otherwise), watched line by line. */
function start(args: string[], cwd: string, env: Record<string, string> = {}): Started {
  mkdirSync(cwd, { recursive: true });
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiting: { re: RegExp; resolve: (l: string) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiting]) {
      const line = out.split('\n').find((l) => w.re.test(l));
      if (line) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout: out, stderr: err })));
  return {
    child,
    stdout: () => out,
    exited,
    seen: (re) =>
      new Promise((resolve, reject) => {
        const line = out.split('\n').find((l) => re.test(l));
        if (line) {
          resolve(line);
          return;
        }
        waiting.push({ re, resolve });
        void exited.then((r) => reject(new Error(`exited ${String(r.code)} before ${String(re)}:\n${r.stderr}\n${r.stdout.slice(-2000)}`)));
      }),
  };
}

const home = () => join(lab.root, 'home');
const runIdOf = (stdout: string) => String(jsonEvents(stdout).find((e) => e.type === 'run')?.['runId']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every relative file path of an inventory (certificates, CAs, `${file:…}` secrets) made absolute. */
function absolutePaths(node: unknown, dir: string, key = ''): unknown {
  if (Array.isArray(node)) return node.map((v) => absolutePaths(v, dir));
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) (node as Record<string, unknown>)[k] = absolutePaths(v, dir, k);
    return node;
  }
  if (typeof node !== 'string') return node;
  const secret = /^\$\{file:(.+)\}$/.exec(node);
  if (secret && !isAbsolute(secret[1])) return `\${file:${join(dir, secret[1])}}`;
  return ['ca', 'cert', 'key'].includes(key) && !isAbsolute(node) ? join(dir, node) : node;
}

/** Writes a lock file on an appliance through NITRO, as another runner would. */
async function plantLock(appliance: string, content: Record<string, unknown>): Promise<void> {
  const a = lab.status.appliances.find((x) => x.name === appliance)!;
  const client = new NitroClient({
    appliance,
    nodes: [a.nitroUrl],
    credentials: { username: a.username, password: readFileSync(a.passwordFile, 'utf8').trim() },
    tls: { caPem: readFileSync(join(lab.labDir, 'pki', 'ca.pem'), 'utf8') },
  });
  try {
    await uploadSystemFile(client, LOCK_FILE, Buffer.from(JSON.stringify(content)));
  } finally {
    await client.logout().catch(() => undefined);
    client.close();
  }
}

describe('once a rollback has started, only rollback may continue the run', () => {
  it('Ctrl-C twice during the automatic rollback: exit 130; resume refused (exit 2, nothing changed); rollback finishes it', async () => {
    // The unbind of the old key fails on adc1 (the run rolls back); the rollback's unbind of the
    // new key there hangs 4 s, long enough to press Ctrl-C twice in the middle of the rollback.
    await lab.fault('adc1', { on: 'DELETE vpnglobal_sslcertkey_binding', errorcode: 278 });
    await lab.fault('adc1', { on: 'DELETE vpnglobal_sslcertkey_binding', delayMs: 4000 });
    const run = start(['run', playbook, '-i', lab.inventory, '--yes', '--json'], lab.root, { ADC_CUTOVER_HOME: home() });
    await run.seen(/"type":"undo".*"step":"rekey-directory"/);
    run.child.kill('SIGINT');
    await sleep(200);
    run.child.kill('SIGINT');
    const r = await run.exited;
    expect(r.code, r.stderr).toBe(130);
    const runId = runIdOf(r.stdout);
    expect(r.stderr).toContain(`stopped at once in the middle of the rollback of run ${runId}: only 'adc-cutover rollback ${runId}' may finish it`);
    const journal = readFileSync(join(home(), 'runs', runId, 'events.jsonl'), 'utf8');
    expect(journal).toContain('"type":"rollback-start"');
    expect(journal).not.toContain('"type":"rollback-end"');
    // The hung unbind lands when its 4 s are over: look only after that.
    expect(await lockedOutAfter(lab, 4500)).toEqual([]);
    await lab.clearFaults();

    const shown = JSON.parse((await lab.cli(['show', runId, '--json'])).stdout) as { status: string; rollbackUnfinished?: boolean; message?: string };
    expect(shown).toMatchObject({ status: 'running', rollbackUnfinished: true });
    expect(shown.message).toContain(`adc-cutover rollback ${runId}`);
    expect((await lab.cli(['show', runId])).stdout).toContain(`Finish the rollback: adc-cutover rollback ${runId}`);

    const mid = await lab.snapshot();
    const resumed = await lab.cli(['resume', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(2);
    expect(resumed.stderr).toMatch(/a rollback of it started .* did not finish/);
    expect(resumed.stderr).toContain(`'adc-cutover rollback ${runId}'`);
    expect(await lab.snapshot()).toEqual(mid);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    expect(readFileSync(join(home(), 'runs', runId, 'events.jsonl'), 'utf8')).toBe(journal);

    const undone = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr + undone.stdout.slice(-2000)).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    // The killed process left its appliance locks; the rollback of the same run took them over.
    expect(
      jsonEvents(undone.stdout)
        .filter((e) => e.type === 'note' && /took over this run's own lock/.test(String(e['message'])))
        .map((e) => e['target'])
        .sort(),
    ).toEqual(['adc1', 'adc2']);
    await expectAsBefore(lab, before, keyring);
    expect(JSON.parse((await lab.cli(['show', runId, '--json'])).stdout)).toMatchObject({ status: 'rolled-back', exitCode: 0 });
  }, 90_000);
});

describe('resume and rollback check the files the run started with', () => {
  it("certificates.new changed after a kill: resume and rollback refused (exit 2, nothing changed); a new run is refused by the killed run's lock; with the files back, rollback restores", async () => {
    // The inventory names copies of the certificates, so that the test can change them.
    const certs = join(lab.root, 'certs-copy');
    mkdirSync(certs, { recursive: true });
    const copies = { cert: join(certs, 'new.pem'), key: join(certs, 'new.key') };
    copyFileSync(lab.status.certs.new.cert, copies.cert);
    copyFileSync(lab.status.certs.new.key, copies.key);
    const inventory = deriveInventory(lab, 'inventory-cert-copies.yaml', (doc) => {
      const c = doc['certificates'] as Record<string, Record<string, unknown>>;
      c['new'] = { ...c['new'], cert: copies.cert, key: copies.key };
    });
    const run = start(['run', playbook, '-i', inventory, '--yes', '--json'], lab.root, { ADC_CUTOVER_HOME: home() });
    await run.seen(/"type":"step-end".*"step":"bind-new-key"/);
    run.child.kill('SIGKILL');
    const r = await run.exited;
    expect(r.code).toBeNull();
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    const runId = runIdOf(r.stdout);
    const journalFile = join(home(), 'runs', runId, 'events.jsonl');
    const first = JSON.parse(readFileSync(journalFile, 'utf8').split('\n')[0]) as { type: string; inputs: Record<string, { path: string; sha256: string }> };
    expect(first.type).toBe('run');
    expect(Object.keys(first.inputs).sort()).toEqual(['certificates.new.cert', 'certificates.new.key', 'certificates.old.cert', 'certificates.old.key', 'inventory', 'playbook']);
    expect(first.inputs['certificates.new.cert'].path).toBe(copies.cert);

    // "certificates.new pointed elsewhere": another certificate under the same file names.
    copyFileSync(lab.status.certs.old.cert, copies.cert);
    copyFileSync(lab.status.certs.old.key, copies.key);
    const mid = await lab.snapshot();
    const journalThen = readFileSync(journalFile, 'utf8');
    const resumed = await lab.cli(['resume', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(2);
    expect(resumed.stderr).toContain(`certificates.new.cert ${copies.cert} changed since run ${runId} started`);
    expect(resumed.stderr).toContain(`certificates.new.key ${copies.key} changed since run ${runId} started`);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    const rolled = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(rolled.code, rolled.stderr).toBe(2);
    expect(rolled.stderr).toContain(`certificates.new.cert ${copies.cert} changed since run ${runId} started`);
    expect(rolled.stderr).toMatch(/wrong key/);
    expect(await lab.snapshot()).toEqual(mid);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    expect(readFileSync(journalFile, 'utf8')).toBe(journalThen);

    // The killed run still holds the appliances: a new run is told whose lock it is and what to do.
    const other = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toMatch(new RegExp(`adc1: the estate is locked by run ${runId} \\(host .*, pid \\d+`));
    expect(other.stderr).toContain(`'adc-cutover resume ${runId}' or 'adc-cutover rollback ${runId}' take its lock over`);
    expect(other.stderr).toContain('--break-lock');
    expect(await lab.snapshot()).toEqual(mid);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);

    // The inventory edited (the certificates back, but named by another path): resume refuses it too.
    copyFileSync(lab.status.certs.new.cert, copies.cert);
    copyFileSync(lab.status.certs.new.key, copies.key);
    const invText = readFileSync(inventory, 'utf8');
    writeFileSync(inventory, `${invText}# edited after the run started\n`);
    const again = await lab.cli(['resume', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toContain(`inventory ${inventory} changed since run ${runId} started`);
    expect(await lab.snapshot()).toEqual(mid);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);

    // Everything as the run started: the rollback goes on (an edited inventory alone is only noted).
    writeFileSync(inventory, invText);
    const undone = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr + undone.stdout.slice(-2000)).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    await expectAsBefore(lab, before, keyring);
  }, 90_000);
});

describe('the lock is on the estate', () => {
  it('a run holds the estate: the same inventory from another working directory through a symlinked directory, and a symlink to a copy from "another host", are refused (exit 2) while it runs', async () => {
    // The certificate and key uploads and the certkey add on adc1 take 4 s each (within the
    // lab's 5 s timeout; the first POST systemfile, the lock, goes through): the run holds its
    // locks for 12 s or more.
    await lab.fault('adc1', { on: 'POST systemfile', delayMs: 4000, skip: 1, times: 2 });
    await lab.fault('adc1', { on: 'POST sslcertkey', delayMs: 4000 });
    const dirA = join(lab.root, 'wd-a');
    const dirB = join(lab.root, 'wd-b');
    const dirC = join(lab.root, 'wd-c');
    const first = start(['run', playbook, '-i', lab.inventory, '--yes', '--json'], dirA);
    await first.seen(/"type":"step-start".*"step":"import-certkey"/);
    const runId = runIdOf(first.stdout());

    // Another working directory (its own .adc-cutover), the inventory through a symlink.
    mkdirSync(dirB, { recursive: true });
    symlinkSync(lab.labDir, join(dirB, 'lab-link'));
    const viaLink = join(dirB, 'lab-link', 'inventory.yaml');
    // "Another host": its own lock directory, so only the appliances' lock can stop it; its
    // inventory a symlink to a copy written with absolute paths.
    const copy = deriveInventory(lab, 'inventory-elsewhere.yaml', (doc) => absolutePaths(doc, lab.labDir));
    mkdirSync(dirC, { recursive: true });
    symlinkSync(copy, join(dirC, 'inventory.yaml'));
    const [second, third] = await Promise.all([
      runCli(['run', playbook, '-i', viaLink, '--yes', '--json'], { cwd: dirB, timeoutMs: 30_000 }),
      runCli(['run', playbook, '-i', 'inventory.yaml', '--yes', '--json'], { cwd: dirC, env: { ADC_CUTOVER_LOCK_DIR: join(dirC, 'locks') }, timeoutMs: 30_000 }),
    ]);
    expect(first.child.exitCode, 'the first run must still be running').toBeNull();
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain(`run ${runId} (pid ${first.child.pid!}`);
    expect(second.stderr).toContain('is working on this estate');
    expect(third.code, third.stderr).toBe(2);
    expect(third.stderr).toMatch(new RegExp(`adc1: the estate is locked by run ${runId} \\(host [^,]+, pid ${first.child.pid!},`));
    // (The first run is still in its certificate upload: nothing is bound yet.)
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    // Refused before anything: no run left behind in either directory.
    for (const d of [dirB, dirC]) {
      const runs = join(d, '.adc-cutover', 'runs');
      expect(existsSync(runs) ? readdirSync(runs).filter((x) => existsSync(join(runs, x, 'events.jsonl'))) : []).toEqual([]);
    }

    const done = await first.exited;
    await lab.clearFaults();
    expect(done.code, done.stderr).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    // No lock left on any appliance once the run has ended.
    for (const a of Object.values((await lab.snapshot()).appliances)) expect(a.files).not.toContain(LOCK_FILE);

    // A journal written before input hashes were kept: the rollback still works, and says it
    // could not check the files.
    const journalFile = join(dirA, '.adc-cutover', 'runs', runId, 'events.jsonl');
    const lines = readFileSync(journalFile, 'utf8').split('\n');
    const rec = JSON.parse(lines[0]) as Record<string, unknown>;
    delete rec['inputs'];
    lines[0] = JSON.stringify(rec);
    writeFileSync(journalFile, lines.join('\n'));
    const undone = await runCli(['rollback', runId, '--yes', '--json'], { cwd: dirA, timeoutMs: 60_000 });
    expect(undone.code, undone.stderr + undone.stdout.slice(-2000)).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    expect(jsonEvents(undone.stdout).some((e) => e.type === 'note' && /did not record its input files' hashes/.test(String(e['message'])))).toBe(true);
    await expectAsBefore(lab, before, keyring);
  }, 90_000);

  it('a stale lock of another run on an appliance: refused (exit 2, names it, nothing changed); --break-lock removes it and the run goes on; resume after its rollback ended incomplete is refused (exit 2)', async () => {
    const stale = { tool: 'adc-cutover', runId: '20260101T000000Z-0a0b0c', host: 'ci-runner-7', pid: 4242, user: 'ci', time: '2026-01-01T00:00:00.000Z', estate: 'the estate' };
    await plantLock('adc2', stale);
    const locked = await lab.snapshot();
    expect(locked.appliances['adc2'].files).toContain(LOCK_FILE);

    const refused = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('adc2: the estate is locked by run 20260101T000000Z-0a0b0c (host ci-runner-7, pid 4242, user ci, since 2026-01-01T00:00:00.000Z)');
    // adc1 was locked before adc2 refused: that lock is gone again, and nothing else changed.
    expect(await lab.snapshot()).toEqual(locked);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);

    // adc1 refuses to delete files at the end of this run: its own lock stays there, and says so.
    await lab.fault('adc1', { on: 'DELETE systemfile', errorcode: 278 });
    const broke = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json', '--break-lock'], { timeoutMs: 60_000 });
    await lab.clearFaults();
    expect(broke.code, broke.stderr).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    const notes = jsonEvents(broke.stdout).filter((e) => e.type === 'note' && /--break-lock: removed the lock/.test(String(e['message'])));
    expect(notes.map((e) => e['target'])).toEqual(['adc2']);
    expect(String(notes[0]['message'])).toContain('run 20260101T000000Z-0a0b0c (host ci-runner-7, pid 4242');
    expect(broke.stderr).toMatch(/warning: adc1: the run lock \/nsconfig\/ssl\/adc-cutover.lock could not be removed .*errorcode 278.*--break-lock/);
    const left = await lab.snapshot();
    expect(left.appliances['adc1'].files).toContain(LOCK_FILE);
    expect(left.appliances['adc2'].files).not.toContain(LOCK_FILE);

    const brokeId = runIdOf(broke.stdout);
    // The same run's rollback takes its own lock over on adc1. adc2 refuses to delete the new
    // certkey: the rollback ends incomplete (exit 3), nobody locked out.
    await lab.fault('adc2', { on: 'DELETE sslcertkey', errorcode: 278 });
    const partial = await lab.cli(['rollback', brokeId, '--yes', '--json'], { timeoutMs: 60_000 });
    await lab.clearFaults();
    expect(partial.code, partial.stderr + partial.stdout.slice(-2000)).toBe(3);
    expect(jsonEvents(partial.stdout).at(-1)).toMatchObject({ type: 'run-end', status: 'rollback-incomplete', exitCode: 3 });
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    expect(
      jsonEvents(partial.stdout)
        .filter((e) => e.type === 'note' && /took over this run's own lock/.test(String(e['message'])))
        .map((e) => e['target']),
    ).toEqual(['adc1']);

    // A rollback ended incomplete: resume would redo what it undid. Refused (exit 2), nothing changed.
    const mid = await lab.snapshot();
    const journalFile = join(home(), 'runs', brokeId, 'events.jsonl');
    const journal = readFileSync(journalFile, 'utf8');
    const refusedResume = await lab.cli(['resume', brokeId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(refusedResume.code, refusedResume.stderr).toBe(2);
    expect(refusedResume.stderr).toMatch(new RegExp(`run ${brokeId}: its rollback \\(.*\\) ended incomplete: 'adc-cutover rollback ${brokeId}' tries the rest again`));
    expect(refusedResume.stderr).toContain('resume would redo what it undid, so it is refused; nothing was changed');
    expect(await lab.snapshot()).toEqual(mid);
    expect(readFileSync(journalFile, 'utf8')).toBe(journal);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);

    // As the refusal says, rollback again finishes it.
    const undone = await lab.cli(['rollback', brokeId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    await expectAsBefore(lab, before, keyring);
    // Rolled back: there is nothing to resume, and resume says so without touching anything.
    const resumed = await lab.cli(['resume', brokeId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(2);
    expect(resumed.stderr).toContain(`run ${brokeId}: it was rolled back`);
    expect(await lab.snapshot()).toEqual(before);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
  }, 90_000);
});
