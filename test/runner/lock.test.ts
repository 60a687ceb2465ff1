// The host's lock on an estate: a live holder refuses, a dead one is taken over, and the lock
// directory must be a real directory (a symlink could point the locks anywhere).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLocalLock } from '../../src/runner/lock.js';

const estate = { key: 'k'.repeat(32), label: 'the estate adc1 + ldaps://dc1 ou=Users' };
let root: string;
let saved: string | undefined;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'adc-lock-'));
  saved = process.env['ADC_CUTOVER_LOCK_DIR'];
  process.env['ADC_CUTOVER_LOCK_DIR'] = join(root, 'locks');
});
afterEach(() => {
  if (saved === undefined) delete process.env['ADC_CUTOVER_LOCK_DIR'];
  else process.env['ADC_CUTOVER_LOCK_DIR'] = saved;
  rmSync(root, { recursive: true, force: true });
});

describe('acquireLocalLock', () => {
  it('names the holder; a live holder refuses whatever the run; release removes the lock', () => {
    const lock = acquireLocalLock(estate, '20260101T000000Z-aaaaaa');
    const file = join(root, 'locks', `${estate.key}.lock`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ runId: '20260101T000000Z-aaaaaa', pid: process.pid, estate: estate.label });
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(() => acquireLocalLock(estate, '20260101T000000Z-bbbbbb')).toThrow(`run 20260101T000000Z-aaaaaa (pid ${process.pid}`);
    expect(() => acquireLocalLock(estate, '20260101T000000Z-aaaaaa')).toThrow(/is working on this estate/);
    expect(() => acquireLocalLock({ ...estate, key: 'o'.repeat(32) }, '20260101T000000Z-bbbbbb').release()).not.toThrow();
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('takes over the lock of a process that is gone', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    mkdirSync(join(root, 'locks'));
    const file = join(root, 'locks', `${estate.key}.lock`);
    writeFileSync(file, JSON.stringify({ runId: '20260101T000000Z-cccccc', pid: Number(dead), host: hostname(), user: 'x', time: 'then' }));
    const lock = acquireLocalLock(estate, '20260101T000000Z-dddddd');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ runId: '20260101T000000Z-dddddd', pid: process.pid });
    lock.release();
  });

  it('refuses a lock directory that is a symlink', () => {
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), join(root, 'locks'));
    expect(() => acquireLocalLock(estate, '20260101T000000Z-eeeeee')).toThrow(/is not a directory \(a symlink or a file\)/);
  });
});
