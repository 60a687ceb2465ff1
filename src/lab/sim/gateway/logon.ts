// The OTP logon decision: directory password first, then the passcode against the user's devices
// decrypted with the bound keys (legacy plaintext values are read too). ±1 step of clock skew,
// and a code (step) already accepted for that user and device is refused.
import { Keyring, readSecrets, totpCode, type PlainDevice } from '../../../otp/index.js';
import type { SimNode } from '../appliance-state.js';
import type { SimDirectoryConfig } from '../types.js';
import { BadCredentials, checkPassword, readUser } from './directory.js';
import { gatewayKeys } from './keys.js';

export type LogonFailure = 'credentials' | 'passcode' | 'unavailable';

export type LogonOutcome = { ok: true; dn: string } | LogonRefusal;

export interface LogonRefusal {
  ok: false;
  kind: LogonFailure;
  reason: string;
}

const STEP_MS = 30_000;

function matchedStep(device: PlainDevice, code: string, now: number): number | undefined {
  for (const offset of [0, -1, 1]) {
    const t = now + offset * STEP_MS;
    if (totpCode(device.secret, { time: t, ...(device.alg ? { alg: device.alg } : {}) }) === code) return Math.floor(t / STEP_MS);
  }
  return undefined;
}

export async function authenticateUser(dir: SimDirectoryConfig | undefined, login: string, password: string): Promise<{ dn: string; values: string[] } | LogonRefusal> {
  if (!dir) return { ok: false, kind: 'unavailable', reason: 'no directory configured for this gateway' };
  if (!login) return { ok: false, kind: 'credentials', reason: 'empty user name' };
  try {
    const user = await readUser(dir, login);
    if (!user) return { ok: false, kind: 'credentials', reason: 'no such user' };
    await checkPassword(dir, user.dn, password);
    return user;
  } catch (err) {
    if (err instanceof BadCredentials) return { ok: false, kind: 'credentials', reason: 'wrong password' };
    return { ok: false, kind: 'unavailable', reason: `directory: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export async function checkLogon(node: SimNode, dir: SimDirectoryConfig | undefined, login: string, password: string, passcode: string): Promise<LogonOutcome> {
  const user = await authenticateUser(dir, login, password);
  if ('ok' in user) return user;
  return checkPasscode(node, user, passcode);
}

/** The OTP factor alone, for a user whose password was already checked (also the second nFactor round). */
export function checkPasscode(node: SimNode, user: { dn: string; values: string[] }, passcode: string): LogonOutcome {
  if (user.values.length === 0) return { ok: false, kind: 'passcode', reason: 'no OTP device registered' };
  if (user.values.length > 1) return { ok: false, kind: 'passcode', reason: 'the OTP attribute has several values' };
  const keys = gatewayKeys(node);
  let devices: PlainDevice[];
  try {
    devices = readSecrets(user.values[0], new Keyring(keys.usable.map((k) => k.km))).devices;
  } catch (err) {
    const unusable = keys.unusable.map((k) => `${k.certkey}: ${k.reason}`).join('; ');
    return { ok: false, kind: 'passcode', reason: `cannot read the OTP value: ${err instanceof Error ? err.message : String(err)}${unusable ? ` (unusable keys: ${unusable})` : ''}` };
  }
  if (!/^\d{6,8}$/.test(passcode)) return { ok: false, kind: 'passcode', reason: 'passcode is not 6-8 digits' };
  const now = Date.now();
  const used = node.primary().config.usedOtpSteps;
  for (const device of devices) {
    const step = matchedStep(device, passcode, now);
    if (step === undefined) continue;
    const key = `${user.dn.toLowerCase()}|${device.name}`;
    const last = used.get(key);
    if (last !== undefined && step <= last) return { ok: false, kind: 'passcode', reason: 'passcode already used' };
    used.set(key, step);
    return { ok: true, dn: user.dn };
  }
  return { ok: false, kind: 'passcode', reason: 'wrong passcode' };
}
