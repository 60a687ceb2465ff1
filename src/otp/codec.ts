// Parse and format the two attribute forms. Parsing is strict about structure and keeps
// everything it does not understand (extra JSON fields, extra &key=value pairs) so that a
// rewrite changes only the devices we touched.
import { fromB64Url, isBase32Secret, toB64Url } from './encoding.js';
import { IV_BYTES, KID_BYTES } from './crypto.js';
import { OtpFormatError } from './errors.js';

const LEGACY_PREFIX = '#@';
// Names seen in the wild are [A-Za-z0-9+._]; accept more on read so an odd name is kept rather
// than the user skipped, but refuse what would break the legacy syntax or a log line.
const DEVICE_NAME = /^[^=&,\x00-\x1f\x7f]{1,128}$/;
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
    if (eq <= 0) throw new OtpFormatError(`legacy OTP device ${i + 1} has no "name=secret"`);
    const name = entry.slice(0, eq);
    const [secret = '', ...extras] = entry.slice(eq + 1).split('&');
    checkDeviceName(name);
    if (!isBase32Secret(secret)) throw new OtpFormatError(`legacy OTP device "${name}" has a secret that is not Base32`);
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

export function parseDeviceValue(name: string, v: string): EncryptedDevice {
  const parts = v.split('.');
  if (parts.length !== 3) throw new OtpFormatError(`encrypted OTP device "${name}" is not three dot-separated parts (KID.IV.CT)`);
  const [kid, iv, ct] = parts.map(fromB64Url);
  if (!kid || kid.length !== KID_BYTES) throw new OtpFormatError(`encrypted OTP device "${name}" has a KID that is not 20 bytes of base64`);
  if (!iv || iv.length !== IV_BYTES) throw new OtpFormatError(`encrypted OTP device "${name}" has an IV that is not 12 bytes of base64`);
  if (!ct || ct.length === 0) throw new OtpFormatError(`encrypted OTP device "${name}" has no ciphertext`);
  return { name, kid, iv, ct };
}

export function formatDeviceValue(d: Pick<EncryptedDevice, 'kid' | 'iv' | 'ct'>): string {
  return `${toB64Url(d.kid)}.${toB64Url(d.iv)}.${toB64Url(d.ct)}`;
}

export function formatAttribute(attr: OtpAttribute): string {
  if (attr.format === 'legacy') {
    return LEGACY_PREFIX + attr.devices.map((d) => [`${d.name}=${d.secret}`, ...d.extras].join('&') + '&,').join('');
  }
  // fromEntries defines own properties, so even a device called "__proto__" round-trips.
  const devices = Object.fromEntries(attr.devices.map((d) => [d.name, formatDeviceValue(d)]));
  const otpdata = isObject(attr.doc['otpdata']) ? attr.doc['otpdata'] : {};
  return JSON.stringify({ ...attr.doc, otpdata: { ...otpdata, devices } });
}

function checkDeviceName(name: string): void {
  if (!DEVICE_NAME.test(name)) {
    throw new OtpFormatError(`OTP device name "${name.slice(0, 40)}" is empty, too long, or contains =, &, comma or a control character`);
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
