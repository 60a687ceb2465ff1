// The canary's passcode: which secret, and when to compute it. A gateway refuses a code it has
// already accepted and a code computed at the very end of its step may arrive after the step
// has turned, so both cases wait for a fresh step instead of failing a good configuration.
import { OtpDecryptError, OtpFormatError, readSecrets, totpCode } from '../otp/index.js';
import type { AcceptedSteps, Clock, PasscodeSource } from './types.js';

export const STEP_SECONDS = 30;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

class MemoryAcceptedSteps implements AcceptedSteps {
  private readonly steps = new Map<string, number>();
  get(key: string): number | undefined {
    return this.steps.get(key);
  }
  set(key: string, step: number): void {
    this.steps.set(key, Math.max(step, this.steps.get(key) ?? -1));
  }
}

/** One memory for the process: several checks against one gateway in one run share it. */
export const processAcceptedSteps: AcceptedSteps = new MemoryAcceptedSteps();

export function newAcceptedSteps(): AcceptedSteps {
  return new MemoryAcceptedSteps();
}

export function acceptedStepKey(gatewayUrl: string, user: string): string {
  return `${new URL(gatewayUrl).origin}|${user.toLowerCase()}`;
}

export interface DeviceSecret {
  secret: string;
  alg?: string;
  kid?: string;
}

export class SecretUnreadable extends Error {}

/** The secret to compute codes from; reading a directory value also proves it decrypts. */
export function deviceSecret(source: PasscodeSource): DeviceSecret {
  if (source.kind === 'secret') return { secret: source.secret, ...(source.alg ? { alg: source.alg } : {}) };
  let devices;
  try {
    devices = readSecrets(source.value, source.keyring).devices;
  } catch (err) {
    if (err instanceof OtpDecryptError || err instanceof OtpFormatError) {
      throw new SecretUnreadable(`the directory value cannot be read with the keys that should be in force: ${err.message}`);
    }
    throw err;
  }
  const device = source.device === undefined ? devices[0] : devices.find((d) => d.name === source.device);
  if (!device) {
    throw new SecretUnreadable(
      source.device === undefined ? 'the directory value holds no OTP device' : `the directory value holds no device named "${source.device}" (it has: ${devices.map((d) => d.name).join(', ')})`,
    );
  }
  return { secret: device.secret, ...(device.alg ? { alg: device.alg } : {}), ...(device.kid ? { kid: device.kid } : {}) };
}

export interface FreshCode {
  /** Secret: never log it. */
  code: string;
  step: number;
  waitedMs: number;
}

/**
 * A code of a step the gateway has not accepted yet for this user, with at least `minSecondsLeft`
 * of its step to go. Waits (on the injected clock) as long as needed.
 */
export async function freshCode(device: DeviceSecret, clock: Clock, accepted: AcceptedSteps, key: string, minSecondsLeft: number, note: (msg: string) => void): Promise<FreshCode> {
  let waitedMs = 0;
  for (;;) {
    const now = clock.now();
    const step = Math.floor(now / 1000 / STEP_SECONDS);
    const msLeft = (step + 1) * STEP_SECONDS * 1000 - now;
    const last = accepted.get(key);
    const reused = last !== undefined && step <= last;
    if (!reused && msLeft >= minSecondsLeft * 1000) {
      return { code: totpCode(device.secret, { ...(device.alg ? { alg: device.alg } : {}), time: now }), step, waitedMs };
    }
    note(
      reused
        ? `the gateway already accepted this step's code for this user; waiting ${Math.ceil(msLeft / 1000)} s for the next step`
        : `only ${Math.floor(msLeft / 1000)} s left in this TOTP step; waiting ${Math.ceil(msLeft / 1000)} s for the next one`,
    );
    // A few ms past the boundary, so a coarse clock cannot land on the old step again.
    await clock.sleep(msLeft + 50);
    waitedMs += msLeft + 50;
  }
}
