// How big the reliability runs are. `npm test` runs every one of them at a size that still
// proves its property in a few minutes on a 2-core machine; `npm run test:long` (RELIABILITY_FULL=1,
// which CI also runs) runs them at full size, and only that run writes the figures of
// docs/reliability.md, so the page always shows full-size runs. An explicit knob (RELIABILITY_SEEDS=…)
// overrides either.
export const FULL = process.env['RELIABILITY_FULL'] === '1';

export function sized(knob: string, quick: number, full: number): number {
  const given = process.env[knob];
  if (given === undefined || given === '') return FULL ? full : quick;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${knob}=${given}: expected a whole number ≥ 1`);
  return n;
}
