// app.log on a real file system: lines reach the file while the log is still open (a tail -f
// follows the run), and a log that cannot be written (/dev/full: ENOSPC) is reported, naming the
// file, instead of ending the process with an unhandled rejection.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AppLog } from '../../src/otptool/index.js';

const dir = mkdtempSync(join(tmpdir(), 'applog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a line is in the file within about a second, before the log is closed', async () => {
  const path = join(dir, 'app.log');
  const log = await AppLog.open(path);
  log.entry({ dn: 'cn=User 00001,ou=Users,dc=lab', outcome: 'modified', reason: '1 device re-encrypted' });
  expect(readFileSync(path, 'utf8')).toBe('');
  await new Promise((r) => setTimeout(r, 1300));
  expect(readFileSync(path, 'utf8')).toMatch(/^\S+Z INFO +cn=User 00001,ou=Users,dc=lab: modified: 1 device re-encrypted\n$/);
  await log.close();
  expect(log.failure).toBeUndefined();
});

it('a write that fails is kept as the failure, naming the file, and close() rejects with it', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const log = await AppLog.open('/dev/full');
    for (let i = 0; i < 600; i++) log.line('INFO', `line ${i}`);
    await log.flush();
    expect(log.failure?.message).toMatch(/^-log \/dev\/full: writing the log failed \(ENOSPC\)/);
    log.line('INFO', 'after the failure');
    await expect(log.close()).rejects.toThrow(/-log \/dev\/full: writing the log failed/);
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
