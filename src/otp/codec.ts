// Parse and format the two attribute forms. Parsing is strict about structure and keeps
// everything it does not understand (extra JSON fields, extra &key=value pairs) so that a
// rewrite changes only the devices we touched.
import { fromB64Url, toB64Url } from './encoding.js';
import { IV_BYTES, KID_BYTES } from './crypto.js';
import { OtpFormatError } from './errors.js';

const LEGACY_PREFIX = '#@';
// Names seen in the wild are [A-Za-z0-9+._]*, the empty name included (public tools allow it, so
// a directory may hold one: it is a device like any other). Accept more on read so an odd name is
// kept rather than the user skipped, but refuse what would break the legacy syntax or a log line.
// eslint-disable-next-line no-control-regex -- control characters are exactly what a device name must not hold
const DEVICE_NAME = /^[^=&,\x00-\x1f\x7f]{0,128}$/;
// The ADC writes Base32, but public tools accept [-A-Za-z0-9]{20,} as a secret; a plaintext value
// is never decrypted, so there is no wrong key to catch here — only the legacy syntax to keep.
const LEGACY_SECRET = /^[-A-Za-z0-9]+=*$/;
/** The ADC stores one short value per user; anything this large is hostile or corrupt. */
export const MAX_VALUE_LENGTH = 64 * 1024;

export interface LegacyDevice {
  name: string;
  secret: string;
  /** Extra `key=value` pairs after the secret, kept verbatim and in order. */
  extras: string[];
}

export interface EncryptedDevice {
  name: string;
  kid: Buffer;
  iv: Buffer;
  ct: Buffer;
}

export interface LegacyAttribute {
  format: 'legacy';
  devices: LegacyDevice[];
}

export interface EncryptedAttribute {
  format: 'encrypted';
  devices: EncryptedDevice[];
  /** The parsed JSON document, so unknown fields survive a rewrite. */
  doc: Record<string, unknown>;
}

export type OtpAttribute = LegacyAttribute | EncryptedAttribute;

export function parseAttribute(value: string): OtpAttribute {
  if (value.length > MAX_VALUE_LENGTH) {
    throw new OtpFormatError(`OTP value is ${value.length} characters long (more than ${MAX_VALUE_LENGTH}): refusing to parse it`);
  }
  if (value.startsWith(LEGACY_PREFIX)) return parseLegacy(value);
  if (value.trimStart().startsWith('{')) return parseEncrypted(value);
  throw new OtpFormatError('OTP value is neither legacy (starts with "#@") nor encrypted (JSON {"otpdata":…})');
}

function parseLegacy(value: string): LegacyAttribute {
  const body = value.slice(LEGACY_PREFIX.length);
  const entries = body.split('&,');
  // The value ends with "&,", so the last piece is empty; anything else is a truncated value.
  const tail = entries.pop();
  if (tail !== '') throw new OtpFormatError('legacy OTP value does not end with "&,": it looks truncated');
  if (entries.length === 0) throw new OtpFormatError('legacy OTP value has no device');
  const devices = entries.map((entry, i): LegacyDevice => {
    const eq = entry.indexOf('=');
    if (eq < 0) throw new OtpFormatError(`legacy OTP device ${i + 1} has no "name=secret"`);
    const name = entry.slice(0, eq);
    const [secret = '', ...extras] = entry.slice(eq + 1).split('&');
    checkDeviceName(name);
    if (!LEGACY_SECRET.test(secret)) throw new OtpFormatError(`legacy OTP device "${name}" has a secret that is not Base32 (nor the letters, digits and '-' public tools accept)`);
    for (const extra of extras) {
      if (!extra.includes('=')) throw new OtpFormatError(`legacy OTP device "${name}" has a malformed field "${extra.slice(0, 20)}"`);
    }
    return { name, secret, extras };
  });
  checkUniqueNames(devices);
  return { format: 'legacy', devices };
}

function parseEncrypted(value: string): EncryptedAttribute {
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    throw new OtpFormatError('encrypted OTP value is not valid JSON');
  }
  const otpdata = isObject(doc) ? doc['otpdata'] : undefined;
  const devs = isObject(otpdata) ? otpdata['devices'] : undefined;
  if (!isObject(doc) || !isObject(devs)) {
    throw new OtpFormatError('encrypted OTP value has no {"otpdata":{"devices":{…}}} object');
  }
  const devices = Object.entries(devs).map(([name, v]): EncryptedDevice => {
    checkDeviceName(name);
    if (typeof v !== 'string') throw new OtpFormatError(`encrypted OTP device "${name}" is not a KID.IV.CT string`);
    return parseDeviceValue(name, v);
  });
  return { format: 'encrypted', devices, doc };
}

/**
 * A directory holds devices under a handful of KIDs: each KID text seen is decoded once and its
 * bytes shared by every device that names it (read-only, like every parsed buffer), and each
 * KID's text is kept with its bytes so writing it back needs no encoding. Bounded: a directory
 * full of odd KIDs just decodes them each time.
 */
const kidByText = new Map<string, Buffer>();
const textOfKid = new WeakMap<Buffer, string>();
const MAX_KIDS = 64;

function decodeKid(text: string): Buffer | undefined {
  const known = kidByText.get(text);
  if (known) return known;
  const kid = fromB64Url(text);
  if (kid && kid.length === KID_BYTES && kidByText.size < MAX_KIDS) {
    kidByText.set(text, kid);
    textOfKid.set(kid, toB64Url(kid));
  }
  return kid;
}

/** The KID as written in values (URL-safe base64, padded). */
export function kidText(kid: Buffer): string {
  return textOfKid.get(kid) ?? toB64Url(kid);
}

/** Remember the text of a key's KID (its bytes are never changed), so writing devices under it needs no encoding. */
export function rememberKid(kid: Buffer, text: string): void {
  if (!textOfKid.has(kid)) textOfKid.set(kid, text);
}

export function parseDeviceValue(name: string, v: string): EncryptedDevice {
  const parts = v.split('.');
  if (parts.length !== 3) throw new OtpFormatError(`encrypted OTP device "${name}" is not three dot-separated parts (KID.IV.CT)`);
  const kid = decodeKid(parts[0]);
  const iv = fromB64Url(parts[1]);
  const ct = fromB64Url(parts[2]);
  if (!kid || kid.length !== KID_BYTES) throw new OtpFormatError(`encrypted OTP device "${name}" has a KID that is not 20 bytes of base64`);
  if (!iv || iv.length !== IV_BYTES) throw new OtpFormatError(`encrypted OTP device "${name}" has an IV that is not 12 bytes of base64`);
  if (!ct || ct.length === 0) throw new OtpFormatError(`encrypted OTP device "${name}" has no ciphertext`);
  return { name, kid, iv, ct };
}

export function formatDeviceValue(d: Pick<EncryptedDevice, 'kid' | 'iv' | 'ct'>): string {
  return `${kidText(d.kid)}.${toB64Url(d.iv)}.${toB64Url(d.ct)}`;
}

export function formatAttribute(attr: OtpAttribute): string {
  if (attr.format === 'legacy') {
    return LEGACY_PREFIX + attr.devices.map((d) => [`${d.name}=${d.secret}`, ...d.extras].join('&') + '&,').join('');
  }
  const otpdata = isObject(attr.doc['otpdata']) ? attr.doc['otpdata'] : {};
  if (isPlainDoc(attr.doc, otpdata) && plainNames(attr.devices)) {
    // The usual document, {"otpdata":{"devices":{…}}} and nothing else, written directly: the
    // same text JSON.stringify gives (names escaped by it, values are base64url and dots), in the
    // same order (no name is an array index, which JSON.stringify would move to the front, and
    // no name twice, which an object would hold once).
    let out = '{"otpdata":{"devices":{';
    attr.devices.forEach((d, i) => {
      out += `${i ? ',' : ''}${JSON.stringify(d.name)}:"${formatDeviceValue(d)}"`;
    });
    return `${out}}}}`;
  }
  // fromEntries defines own properties, so even a device called "__proto__" round-trips.
  const devices = Object.fromEntries(attr.devices.map((d) => [d.name, formatDeviceValue(d)]));
  return JSON.stringify({ ...attr.doc, otpdata: { ...otpdata, devices } });
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function plainNames(devices: readonly { name: string }[]): boolean {
  if (devices.some((d) => ARRAY_INDEX.test(d.name))) return false;
  return devices.length < 2 || new Set(devices.map((d) => d.name)).size === devices.length;
}

function isPlainDoc(doc: Record<string, unknown>, otpdata: Record<string, unknown>): boolean {
  let n = 0;
  for (const k in doc) if (k !== 'otpdata' || ++n > 1) return false;
  if (!Object.hasOwn(doc, 'otpdata')) return false;
  for (const k in otpdata) if (k !== 'devices') return false;
  return true;
}

function checkDeviceName(name: string): void {
  if (!DEVICE_NAME.test(name)) {
    throw new OtpFormatError(`OTP device name "${name.slice(0, 40)}" is too long, or contains =, &, comma or a control character`);
  }
}

function checkUniqueNames(devices: { name: string }[]): void {
  const seen = new Set<string>();
  for (const d of devices) {
    if (seen.has(d.name)) throw new OtpFormatError(`OTP value names device "${d.name}" twice`);
    seen.add(d.name);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
