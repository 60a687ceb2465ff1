// Device registration as /manageotp does it: the user proves the password, the new device is
// added to the OTP value — encrypted under the NEWEST bound userDataEncryptionKey when OTP
// encryption is ON, in the legacy form when it is OFF — through a compare-and-swap write retried
// on conflict, so registrations can race a re-encryption run safely.
import { randomBytes } from 'node:crypto';
import { Keyring, addDevice, isBase32Secret, legacyValue, parseAttribute, readSecrets, type PlainDevice } from '../../../otp/index.js';
import type { SimNode } from '../appliance-state.js';
import type { SimDirectoryConfig } from '../types.js';
import { CasConflict, casWrite, readUser } from './directory.js';
import { gatewayKeys } from './keys.js';
import { authenticateUser } from './logon.js';

export interface RegisterInput {
  user: string;
  password: string;
  deviceName: string;
  /** Base32; generated when absent (and then returned, as the QR code shows it). */
  secret?: string;
}

export type RegisterResult =
  { ok: true; status: 200; device: string; format: 'encrypted' | 'legacy'; certkey?: string; kid?: string; secret?: string } | { ok: false; status: number; message: string };

const MAX_ATTEMPTS = 8;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function newSecret(): string {
  const bytes = randomBytes(16);
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

export async function registerDevice(node: SimNode, dir: SimDirectoryConfig | undefined, input: RegisterInput): Promise<RegisterResult> {
  if (!/^[A-Za-z0-9+._]{1,64}$/.test(input.deviceName)) return { ok: false, status: 400, message: 'device name must match [A-Za-z0-9+._]{1,64}' };
  const generated = input.secret === undefined;
  const secret = input.secret ?? newSecret();
  if (!isBase32Secret(secret)) return { ok: false, status: 400, message: 'secret must be Base32' };
  const auth = await authenticateUser(dir, input.user, input.password);
  if ('ok' in auth) return { ok: false, status: auth.kind === 'unavailable' ? 503 : 401, message: auth.reason };
  const cfg = node.primary().config;
  const device: PlainDevice = { name: input.deviceName, secret };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = attempt === 0 ? auth : await readUser(dir!, input.user);
    if (!current) return { ok: false, status: 401, message: 'user vanished' };
    if (current.values.length > 1) return { ok: false, status: 409, message: 'the OTP attribute has several values' };
    const old = current.values[0];
    let existing: { name: string }[];
    try {
      existing = old ? parseAttribute(old).devices : [];
    } catch {
      return { ok: false, status: 409, message: 'the existing OTP value is not readable' };
    }
    if (existing.some((d) => d.name === device.name)) return { ok: false, status: 409, message: `device ${device.name} is already registered` };
    if (existing.length >= cfg.otp.maxotpdevices) return { ok: false, status: 409, message: `at most ${cfg.otp.maxotpdevices} devices` };
    const keys = gatewayKeys(node);
    let value: string;
    let newest: (typeof keys.usable)[number] | undefined;
    if (cfg.otp.encryption === 'ON') {
      newest = keys.usable.at(-1);
      // The newest binding must be usable: falling back to an older key would hide a broken cutover.
      if (!newest || keys.unusable.some((u) => cfg.userDataKeys().indexOf(u.certkey) > cfg.userDataKeys().indexOf(newest!.certkey))) {
        return { ok: false, status: 409, message: 'No Encryption cert' };
      }
      value = addDevice(old, device, newest.km);
    } else {
      let devices: PlainDevice[] = [];
      try {
        devices = old ? readSecrets(old, new Keyring(keys.usable.map((k) => k.km))).devices : [];
      } catch {
        return { ok: false, status: 409, message: 'cannot read the existing OTP value with the bound keys' };
      }
      value = legacyValue([...devices.map((d) => ({ name: d.name, secret: d.secret, ...(d.alg ? { alg: d.alg } : {}), ...(d.tag ? { tag: d.tag } : {}) })), device]);
    }
    try {
      await casWrite(dir!, current.dn, old, value);
    } catch (err) {
      if (err instanceof CasConflict) continue;
      return { ok: false, status: 503, message: `directory: ${err instanceof Error ? err.message : String(err)}` };
    }
    return {
      ok: true,
      status: 200,
      device: device.name,
      format: newest ? 'encrypted' : 'legacy',
      ...(newest ? { certkey: newest.certkey, kid: newest.km.kidText } : {}),
      ...(generated ? { secret } : {}),
    };
  }
  return { ok: false, status: 409, message: `the OTP value kept changing; gave up after ${MAX_ATTEMPTS} attempts` };
}
