// The order files start in. Five workers share 2 cores, so the run ends when its longest files
// end: they must start first. Vitest orders by the durations it cached from the last run, but a
// fresh clone (CI, a new contributor) has none and falls back to the largest files first, which
// once started a minute-long file, mostly waiting for TOTP steps, in the run's last minute. So
// the files that took 30 s or more in a whole run (2026-12-02, this 2-core machine) start first,
// longest first, and the rest follow in vitest's own order. The list only orders: a file missing
// from it, or one that has grown, still runs.
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'test/reliability/faults-nitro.test.ts',
  'test/reliability/bad-input.test.ts',
  'test/e2e/lockout.test.ts',
  'test/e2e/replication.test.ts',
  'test/e2e/run-state.test.ts',
  'test/reliability/faults-kill.test.ts',
  'test/reliability/faults-disk.test.ts',
  'test/e2e/canary-pool.test.ts',
  'test/e2e/firmware-profiles.test.ts',
  'test/report/browser.test.ts',
  'test/reliability/random.test.ts',
  'test/directory/inventory.test.ts',
  'test/e2e/signals.test.ts',
  'test/reliability/load.test.ts',
];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = LONGEST_FIRST.indexOf(relative(f.project.config.root, f.moduleId).split('\\').join('/'));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    const inVitestOrder = await super.sort(files);
    // Array.prototype.sort is stable: files of equal rank keep vitest's order.
    return inVitestOrder.sort((a, b) => rank(a) - rank(b));
  }
}
