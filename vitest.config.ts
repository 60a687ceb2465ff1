import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/sequencer.js';

// Integration tests start real servers (slapd, the ADC simulator). Much of an end-to-end test's
// time is idle: a logon check waits for a fresh 30-s TOTP step once the lab's three canaries have
// each logged on through a gateway in the current one (a gateway refuses a code it has already
// accepted), a replica delays what it copies, a fault holds a NITRO reply. So every file runs in
// one pool of five workers on 2 cores, the timing-bound ones (NITRO timeouts, SIGKILL at chosen
// moments, the load test) beside the rest: their margins are a second or more, so a load of 5 to
// 8 does not move a result (they used to run alone afterwards, which left a core idle for
// minutes). `npm test` runs the reliability suites small; `npm run test:long` at full size
// (test/reliability/size.ts), one file at a time: at full size, beside each other, two of their
// expectations met timings they had not foreseen (a rollback starting after a killed run's write
// could no longer land; a rollback's exit 3 after a killed rollback, not reproduced alone).
//
// The workers are shared between files (isolate: false): each worker compiles the modules under
// test once instead of once per file, which was about a third of the CPU of the unit-sized files.
// It is safe because no test mocks a module and the few that set an environment variable put it
// back; servers are separate processes.
export default defineConfig({
  test: {
    reporters: ['default'],
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 5,
    isolate: false,
    // The longest files first (test/sequencer.ts says why).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
