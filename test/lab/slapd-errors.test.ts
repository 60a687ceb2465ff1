// What an operator sees when slapd is missing or cannot start: the exact command, or slapd's own
// complaint and where its log is; and no process left behind either way.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdcError, InputError } from '../../src/errors.js';
import { pidInFile } from '../../src/lab/processes.js';
import { ensureSlapd, SLAPD_INSTALL_COMMAND, startSlapd } from '../../src/lab/slapd.js';

describe('slapd launcher errors', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('names the exact install command when slapd is missing and installing is not allowed', () => {
    const err = (() => {
      try {
        ensureSlapd({ install: false, slapdPath: '/nonexistent/sbin/slapd' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    expect((err as Error).message).toContain(SLAPD_INSTALL_COMMAND);
    expect((err as Error).message).toContain('/nonexistent/sbin/slapd');
  });

  it("reports slapd's own error and its log file when the configuration is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slapd-bad-'));
    dirs.push(dir);
    const err = await startSlapd({ dir, suffix: 'this is not a DN' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdcError);
    expect((err as Error).message).toMatch(/did not start/);
    expect((err as Error).message).toContain(join(dir, 'slapd.log'));
    expect((err as Error).message).toMatch(/suffix|DN/i);
    // slapd exited on its own; no pid file claims a running process.
    expect(pidInFile(join(dir, 'slapd.pid'))).toBeUndefined();
  });
});
