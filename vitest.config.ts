import { defineConfig } from 'vitest/config';

// Integration tests start real servers (slapd, the ADC simulator); give them room
// but keep files in parallel so the whole suite stays well under ten minutes.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
