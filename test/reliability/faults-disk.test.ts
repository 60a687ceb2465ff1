// The disk fills up under the run directory: once before the journal can take its first record,
// and once in the middle of the directory backup (the journal has room up to the re-encryption,
// the backup does not). The run directory lives on a small tmpfs (ADC_CUTOVER_HOME), filled with
// a filler file to leave exactly the room wanted; the filler is removed afterwards, as an
// operator freeing space would, and the journal is rolled back. Needs root for mount(8).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Keyring } from '../../src/otp/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { lockedOutAfter, NO_LATE_WRITES_MS } from '../helpers/invariant.js';
import { applianceCount, compareValues, cutoverWithoutLogonChecks, jsonEvents, labKeyring, expectAsBefore } from './check.js';
import { FigureLog } from './figures.js';

const TMPFS_SIZE = 2 * 1024 * 1024;

let lab: E2eLab;
let before: Snapshot;
let keyring: Keyring;
let playbook: string;
let home: string;
let mounted = false;
const figures = new FigureLog(
  'faults-disk',
  'Faults: the disk is full',
  `ADC_CUTOVER_HOME on a ${TMPFS_SIZE / 1024} KiB tmpfs, filled to leave a chosen amount of room, on the lab with 400 users and 2 appliances; the cutover without its logon checks.`,
);

beforeAll(async () => {
  lab = await startE2eLab({ users: 400, appliances: 2 });
  before = await lab.snapshot();
  keyring = await labKeyring(lab);
  playbook = cutoverWithoutLogonChecks(lab.root);
  home = join(lab.root, 'small-home');
  mkdirSync(home);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', home]);
  mounted = true;
}, 60_000);
afterAll(async () => {
  figures.write();
  if (mounted) execFileSync('umount', [home]);
  await lab?.stop();
});

const cli = (args: string[]): Promise<CliResult> => runCli(args, { env: { ADC_CUTOVER_HOME: home }, cwd: lab.root, timeoutMs: 60_000 });
const filler = () => join(home, 'filler');

/** Leaves `room` bytes free on the tmpfs (to the page). */
function fillLeaving(room: number): void {
  rmSync(filler(), { force: true });
  const free = statfsSync(home).bavail * statfsSync(home).bsize;
  writeFileSync(filler(), Buffer.alloc(Math.max(0, free - room)));
}

const runIds = (): string[] => (existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []);

const PAGE = 4096;
const pages = (bytes: number) => Math.ceil(bytes / PAGE) * PAGE;

describe('disk full', () => {
  let journalBeforeRekey = 0;
  /** What a whole run keeps under its directory before the report files, in tmpfs pages. */
  let runDirBeforeReports = 0;
  let reportBytes = 0;

  it('a run with room to spare, to measure the journal up to the re-encryption; rollback restores', async () => {
    const r = await cli(['run', playbook, '-i', lab.inventory, '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const runId = String(jsonEvents(r.stdout).find((e) => e.type === 'run')?.['runId']);
    const journal = readFileSync(join(home, 'runs', runId, 'events.jsonl'), 'utf8');
    journalBeforeRekey = journal.indexOf('"step":"rekey-directory"');
    expect(journalBeforeRekey).toBeGreaterThan(1000);
    const dir = join(home, 'runs', runId);
    const files = readdirSync(dir).map((f) => ({ f, size: statSync(join(dir, f)).size }));
    runDirBeforeReports = files.filter((x) => !x.f.startsWith('report.')).reduce((n, x) => n + pages(x.size), 0);
    reportBytes = files.filter((x) => x.f === 'report.json').reduce((n, x) => n + x.size, 0);
    const undone = await cli(['rollback', runId, '--yes', '--json']);
    expect(undone.code, undone.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
    rmSync(join(home, 'runs'), { recursive: true });
  }, 60_000);

  it('no room for the journal: refused before any change, says so', async () => {
    fillLeaving(0);
    const r = await cli(['run', playbook, '-i', lab.inventory, '--yes', '--json']);
    rmSync(filler());
    const after = await lab.snapshot();
    expect(after).toEqual(before);
    expect(r.stderr).toMatch(/ENOSPC|no space/i);
    expect(r.code, r.stderr).toBe(2);
    figures.add({
      case: 'no room at all under the run directory',
      kind: 'disk full (journal)',
      outcome: 'refused before any change, ENOSPC named',
      exitCode: r.code,
      entriesChecked: Object.keys(after.directory).length,
      lost: 0,
      appliancesChecked: applianceCount(after),
    });
  }, 60_000);

  it.each([12, 40, 72])(
    'room for the journal up to the re-encryption + %i KiB, not for the whole backup: nothing half-written; after freeing space, rollback restores',
    async (spare) => {
      const known = new Set(runIds());
      const room = journalBeforeRekey + spare * 1024;
      fillLeaving(room);
      const r = await cli(['run', playbook, '-i', lab.inventory, '--yes', '--json']);
      const runId = runIds().find((d) => !known.has(d));
      expect(runId, r.stderr).toBeDefined();
      const progress = jsonEvents(r.stdout)
        .filter((e) => e.type === 'progress' && e['step'] === 'rekey-directory')
        .at(-1);
      const mid = await lab.snapshot();
      const midValues = compareValues(before.directory, mid.directory, keyring);
      expect(midValues.bad).toEqual([]);
      // The truthful exit: 1 only if the rollback really completed, else 3 (a person must act).
      const restored = JSON.stringify(mid) === JSON.stringify(before);
      // Exit 1 only if the rollback really completed; 3 when it may not have, saying how to finish.
      if (restored) expect([1, 3], r.stderr + r.stdout.slice(-2000)).toContain(r.code);
      else expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(3);
      if (r.code === 3) expect(r.stderr).toContain(`adc-cutover rollback ${runId!}`);
      expect(r.stderr + r.stdout).toMatch(/ENOSPC|no space/i);

      rmSync(filler());
      const undone = await cli(['rollback', runId!, '--yes', '--json']);
      expect(undone.code, undone.stderr + undone.stdout.slice(-2000)).toBe(0);
      const { after, v } = await expectAsBefore(lab, before, keyring);
      figures.add({
        case: `${Math.round(room / 1024)} KiB of room (journal to the re-encryption + ${spare} KiB): the backup fills the disk`,
        kind: 'disk full (backup)',
        outcome: `exit ${r.code} (${restored ? 'rolled back' : 'rollback incomplete, the command to finish it named'}), directory before the stop: ${String(progress?.['detail'] ?? 'not reached')}; none half-written; after freeing space rollback exit 0, everything as before`,
        exitCode: r.code,
        entriesChecked: midValues.checked + v.checked,
        lost: midValues.bad.length + v.bad.length,
        appliancesChecked: applianceCount(after),
      });
    },
    60_000,
  );
  it('the disk fills up at the report write, after the run ended: the outcome stands (exit 0), one warning names the file and errno, the journal has the run-end', async () => {
    // Room for everything the run writes before its reports (the journal, the backup, the lock)
    // and a little over (runs differ by a few bytes), but not for report.json.
    const slack = 2 * PAGE;
    expect(reportBytes, 'report.json must be larger than the slack for this case to mean anything').toBeGreaterThan(slack + PAGE);
    const known = new Set(runIds());
    fillLeaving(runDirBeforeReports + PAGE + slack);
    const r = await cli(['run', playbook, '-i', lab.inventory, '--yes', '--json']);
    const runId = runIds().find((d) => !known.has(d));
    rmSync(filler());
    expect(runId, r.stderr).toBeDefined();
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.code, r.stderr).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    const end = jsonEvents(r.stdout).at(-1);
    expect(end).toMatchObject({ type: 'run-end', status: 'succeeded', exitCode: 0 });
    const warnings = r.stderr.split('\n').filter((l) => /warning: could not write/.test(l));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`${join(home, 'runs', runId!, 'report.json').replace(/[.]/g, '\\.')} \\(ENOSPC: no space left on device\\)`));
    expect(warnings[0]).toMatch(/The run's outcome stands \(succeeded, exit 0\)/);
    const journal = readFileSync(join(home, 'runs', runId!, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(journal.at(-1)!)).toMatchObject({ type: 'run-end', status: 'succeeded', exitCode: 0 });
    // No torn report left behind: `show` rebuilds it from the journal.
    expect(existsSync(join(home, 'runs', runId!, 'report.json'))).toBe(false);
    const shown = await cli(['show', runId!, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ runId, status: 'succeeded', exitCode: 0 });
    // The cutover stood: the directory is under the new key; rollback puts everything back.
    const cutOver = await lab.snapshot();
    const moved = compareValues(before.directory, cutOver.directory, keyring);
    expect(moved.bad).toEqual([]);
    expect(moved.reencrypted).toBeGreaterThan(0);
    const undone = await cli(['rollback', runId!, '--yes', '--json']);
    expect(undone.code, undone.stderr + undone.stdout.slice(-2000)).toBe(0);
    expect(await lockedOutAfter(lab, NO_LATE_WRITES_MS)).toEqual([]);
    const { after, v } = await expectAsBefore(lab, before, keyring);
    figures.add({
      case: 'room for the run but not for report.json',
      kind: 'disk full (report)',
      outcome: 'run succeeded, exit 0; one warning named the file and ENOSPC; journal complete, show rebuilds the report; rollback exit 0, everything as before',
      exitCode: r.code,
      entriesChecked: moved.checked + v.checked,
      lost: moved.bad.length + v.bad.length,
      appliancesChecked: applianceCount(after),
    });
  }, 60_000);
});
