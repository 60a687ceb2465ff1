// A clock whose sleeps pass instantly, so no test waits for a real 30-second step.
import type { Clock } from '../../src/gateway/index.js';

export interface FakeClock extends Clock {
  sleeps: number[];
}

/** Starts at `start` (ms since the epoch), or follows real time shifted by every sleep. */
export function fakeClock(start?: number): FakeClock {
  let offset = 0;
  const sleeps: number[] = [];
  return {
    now: () => (start ?? Date.now()) + offset,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      offset += ms;
    },
    sleeps,
  };
}

/** A time `secondsIntoStep` seconds into a 30-second step. */
export function timeInStep(secondsIntoStep: number, step = 57_000_000): number {
  return step * 30_000 + secondsIntoStep * 1000;
}
