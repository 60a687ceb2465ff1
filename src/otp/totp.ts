// RFC 6238 codes for a device secret, with the device's algorithm when it names one.
import { Secret, TOTP } from 'otpauth';
import { InputError } from '../errors.js';

export interface TotpOptions {
  alg?: string;
  digits?: number;
  period?: number;
  /** Milliseconds since the epoch; defaults to now. */
  time?: number;
}

const ALGORITHMS: Record<string, string> = { sha1: 'SHA1', sha256: 'SHA256', sha512: 'SHA512' };

function totp(secretBase32: string, opts: TotpOptions): TOTP {
  const algorithm = ALGORITHMS[(opts.alg ?? 'sha1').toLowerCase()];
  if (!algorithm) throw new InputError(`unsupported TOTP algorithm "${opts.alg}" (expected sha1, sha256 or sha512)`);
  return new TOTP({
    secret: Secret.fromBase32(secretBase32.replace(/=+$/, '')),
    algorithm,
    digits: opts.digits ?? 6,
    period: opts.period ?? 30,
  });
}

export function totpCode(secretBase32: string, opts: TotpOptions = {}): string {
  return totp(secretBase32, opts).generate({ timestamp: opts.time ?? Date.now() });
}

/** True when `code` is valid within ±window steps (default 1, as gateways allow for clock skew). */
export function totpVerify(secretBase32: string, code: string, opts: TotpOptions & { window?: number } = {}): boolean {
  return totp(secretBase32, opts).validate({ token: code, timestamp: opts.time ?? Date.now(), window: opts.window ?? 1 }) !== null;
}

/** Seconds left in the current 30-second step: a check waits for a fresh step when few remain. */
export function secondsLeftInStep(period = 30, time = Date.now()): number {
  return period - (Math.floor(time / 1000) % period);
}
