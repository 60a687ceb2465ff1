// Device-level crypto on top of the codec: decrypt one device with a keyring, build encrypted
// devices. The device plaintext is compact JSON ({"secret","tag"?,"alg"?,…}); on a re-key the
// exact plaintext bytes are re-encrypted, so fields we do not know survive untouched.
import { decryptBytes, decryptMany, encryptBytes } from './crypto.js';
import { rememberKid, type EncryptedDevice, type LegacyDevice } from './codec.js';
import { toB64Url } from './encoding.js';
import { OtpDecryptError } from './errors.js';
import type { OtpKeyMaterial } from './key-material.js';

/** A device in the clear. `secret` is secret: never log it. */
export interface PlainDevice {
  name: string;
  secret: string;
  alg?: string;
  tag?: string;
}

export interface DecryptedDevice extends PlainDevice {
  /** The exact plaintext bytes (device JSON), for a lossless re-encryption. */
  plaintext: Buffer;
  kidText: string;
}

/** Looks certificates up by KID, as the ADC does among its bound userDataEncryptionKey certkeys. */
export class Keyring {
  private readonly byKid = new Map<string, OtpKeyMaterial>();
  /** The distinct keys, for a direct comparison when there are few (the usual one to three). */
  private readonly few: OtpKeyMaterial[] | undefined;
  constructor(list: OtpKeyMaterial[] = []) {
    for (const km of list) this.byKid.set(km.kid.toString('hex'), km);
    this.few = this.byKid.size <= 8 ? [...this.byKid.values()] : undefined;
  }
  get(kid: Buffer): OtpKeyMaterial | undefined {
    if (this.few) {
      for (const km of this.few) if (km.kid.equals(kid)) return km;
      return undefined;
    }
    return this.byKid.get(kid.toString('hex'));
  }
  get size(): number {
    return this.byKid.size;
  }
  kidTexts(): string[] {
    return [...this.byKid.values()].map((k) => k.kidText);
  }
}

export function decryptDevice(dev: EncryptedDevice, km: OtpKeyMaterial): DecryptedDevice {
  checkKid(dev, km);
  return openDevice(dev, km, decryptBytes(km.aesKey, dev.iv, dev.ct));
}

function checkKid(dev: EncryptedDevice, km: OtpKeyMaterial): void {
  if (!dev.kid.equals(km.kid)) {
    const kidText = toB64Url(dev.kid);
    throw new OtpDecryptError(`device "${dev.name}": cannot decrypt with this certificate: the value's KID is ${kidText}, the certificate's is ${km.kidText}`, dev.name, kidText, km.kidText);
  }
}

/**
 * decryptDevice for many devices, each with its key, one AES call per key (decryptMany): the
 * same results and the same errors, in order; an error is returned in place, not thrown.
 */
export function decryptDevices(list: readonly { dev: EncryptedDevice; km: OtpKeyMaterial }[]): (DecryptedDevice | OtpDecryptError)[] {
  const out = new Array<DecryptedDevice | OtpDecryptError>(list.length);
  const byKey = new Map<OtpKeyMaterial, number[]>();
  list.forEach(({ dev, km }, i) => {
    try {
      checkKid(dev, km);
    } catch (err) {
      out[i] = err as OtpDecryptError;
      return;
    }
    const slots = byKey.get(km);
    if (slots) slots.push(i);
    else byKey.set(km, [i]);
  });
  for (const [km, slots] of byKey) {
    const plain = decryptMany(
      km.aesKey,
      slots.map((i) => list[i].dev),
    );
    slots.forEach((i, k) => {
      try {
        out[i] = openDevice(list[i].dev, km, plain[k]);
      } catch (err) {
        out[i] = err as OtpDecryptError;
      }
    });
  }
  return out;
}

/** The plaintext of `dev` (decrypted with `km`) as a device, or "cannot decrypt" when it is not device JSON. */
function openDevice(dev: EncryptedDevice, km: OtpKeyMaterial, plaintext: Buffer): DecryptedDevice {
  const kidText = km.kidText;
  const parsed = parseDeviceJson(plaintext);
  if (!parsed) {
    throw new OtpDecryptError(
      `device "${dev.name}": cannot decrypt with this certificate (KID ${kidText} matches but the plaintext is not device JSON with a string secret: wrong key or corrupted value)`,
      dev.name,
      kidText,
      km.kidText,
    );
  }
  return { name: dev.name, ...parsed, plaintext, kidText };
}

export function decryptWithKeyring(dev: EncryptedDevice, keyring: Keyring): DecryptedDevice {
  const km = keyring.get(dev.kid);
  if (!km) {
    const kidText = toB64Url(dev.kid);
    throw new OtpDecryptError(
      `device "${dev.name}": cannot decrypt with this certificate: the value's KID ${kidText} is not among the given certificates (${keyring.kidTexts().join(', ') || 'none'})`,
      dev.name,
      kidText,
      keyring.kidTexts()[0],
    );
  }
  return decryptDevice(dev, km);
}

export function encryptPlaintext(name: string, plaintext: Buffer, km: OtpKeyMaterial): EncryptedDevice {
  rememberKid(km.kid, km.kidText);
  const { iv, ct } = encryptBytes(km.aesKey, plaintext);
  return { name, kid: km.kid, iv, ct };
}

/** Device JSON as the ADC writes it: secret first, then tag and alg when present. */
export function devicePlaintext(d: PlainDevice): Buffer {
  const fields: Record<string, string> = { secret: d.secret };
  if (d.tag !== undefined) fields['tag'] = d.tag;
  if (d.alg !== undefined) fields['alg'] = d.alg;
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

/** Legacy device → device JSON: the secret plus each extra key=value pair as a field. */
export function legacyToPlaintext(d: LegacyDevice): Buffer {
  const fields: Record<string, string> = { secret: d.secret };
  for (const extra of d.extras) {
    const eq = extra.indexOf('=');
    fields[extra.slice(0, eq)] = extra.slice(eq + 1);
  }
  return Buffer.from(JSON.stringify(fields), 'utf8');
}

/** Device JSON → legacy device: every field but the secret becomes a key=value extra. */
export function plaintextToLegacy(name: string, plaintext: Buffer): LegacyDevice {
  const obj = JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>;
  const extras = Object.entries(obj)
    .filter(([k]) => k !== 'secret')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return { name, secret: String(obj['secret']), extras };
}

export function parseDeviceJson(plaintext: Buffer): Omit<PlainDevice, 'name'> | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(plaintext.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  // The decryption check: a JSON object with a string secret. Not the secret's alphabet or case:
  // public tools write secrets the ADC would not ([-A-Za-z0-9]{20,}), and a device we cannot
  // classify must still be re-encrypted byte for byte, not left behind under the old key.
  if (typeof rec['secret'] !== 'string') return undefined;
  const out: Omit<PlainDevice, 'name'> = { secret: rec['secret'] };
  if (typeof rec['alg'] === 'string') out.alg = rec['alg'];
  if (typeof rec['tag'] === 'string') out.tag = rec['tag'];
  return out;
}
