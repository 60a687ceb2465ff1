import { defineConfig } from 'vitest/config';

// Integration tests start real servers (slapd, the ADC simulator). Part of an end-to-end test's
// time is idle: a logon check waits for a fresh 30-s TOTP step once the lab's three canaries have
// each logged on through a gateway in the current one (a gateway refuses a code it has already
// accepted). So those files run several at once, even on 2 cores, and overlap their waits. Files
// whose assertions rest on timing (NITRO timeouts of 1.5 s, the load test, SIGKILL at chosen
// moments) run afterwards, one at a time, on a quiet machine. (Two at a time was tried, as they
// mostly wait: once, a run then left its estate lock on an appliance, which one at a time has
// not done; until that is understood, one.) `npm test` runs the reliability
// suites small; `npm run test:long` at full size (test/reliability/size.ts).
//
// The files that run together share their worker processes (isolate: false): each worker then
// compiles the modules under test once instead of once per file, which was about a third of the
// CPU of the unit-sized files on this 2-core machine. It is safe because no test mocks a module
// and the few that set an environment variable put it back; servers are separate processes.
const ALONE = ['test/reliability/faults-nitro.test.ts', 'test/reliability/faults-kill.test.ts', 'test/reliability/load.test.ts', 'test/reliability/random.test.ts', 'test/e2e/lockout.test.ts'];

const common = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...common, name: 'together', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 4, isolate: false, sequence: { groupOrder: 0 } } },
      { test: { ...common, name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
