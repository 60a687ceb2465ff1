// Whole-value operations used by the commands, the re-encryption engine, the lab and the
// gateway check: read every secret, build a new value, add a device, re-key.
import { formatAttribute, parseAttribute, type EncryptedDevice, type OtpAttribute } from './codec.js';
import {
  decryptDevice, decryptWithKeyring, devicePlaintext, encryptPlaintext, legacyToPlaintext, plaintextToLegacy,
  type DecryptedDevice, type Keyring, type PlainDevice,
} from './devices.js';
import { toB64Url } from './encoding.js';
import { OtpDecryptError, OtpFormatError } from './errors.js';
import type { OtpKeyMaterial } from './key-material.js';

export interface ReadResult {
  format: OtpAttribute['format'];
  devices: (PlainDevice & { kid?: string })[];
}

/** Every device in the clear. Throws OtpDecryptError when any device cannot be read. */
export function readSecrets(value: string, keyring: Keyring): ReadResult {
  const attr = parseAttribute(value);
  if (attr.format === 'legacy') {
    return { format: 'legacy', devices: attr.devices.map((d) => ({ name: d.name, secret: d.secret, ...extrasOf(d.extras) })) };
  }
  return {
    format: 'encrypted',
    devices: attr.devices.map((d) => {
      const p = decryptWithKeyring(d, keyring);
      return { name: p.name, secret: p.secret, kid: p.kidText, ...(p.alg ? { alg: p.alg } : {}), ...(p.tag ? { tag: p.tag } : {}) };
    }),
  };
}

/** The KIDs (as written in the value) of an encrypted value's devices; [] for legacy. */
export function kidsOf(value: string): string[] {
  const attr = parseAttribute(value);
  return attr.format === 'legacy' ? [] : attr.devices.map((d) => toB64Url(d.kid));
}

export function encryptValue(devices: PlainDevice[], km: OtpKeyMaterial): string {
  const encrypted = devices.map((d) => encryptPlaintext(d.name, devicePlaintext(d), km));
  return formatAttribute({ format: 'encrypted', devices: encrypted, doc: { otpdata: { devices: {} } } });
}

export function legacyValue(devices: PlainDevice[]): string {
  return formatAttribute({
    format: 'legacy',
    devices: devices.map((d) => ({
      name: d.name,
      secret: d.secret,
      extras: [...(d.tag ? [`tag=${d.tag}`] : []), ...(d.alg ? [`alg=${d.alg}`] : [])],
    })),
  });
}

/**
 * A registration as the ADC does it: the new device encrypted under `km` (the newest bound key).
 * Existing encrypted devices are kept as they are; a legacy value is converted whole, since one
 * value cannot mix the two forms.
 */
export function addDevice(value: string | undefined, device: PlainDevice, km: OtpKeyMaterial): string {
  const fresh = encryptPlaintext(device.name, devicePlaintext(device), km);
  if (!value) return formatAttribute({ format: 'encrypted', devices: [fresh], doc: { otpdata: { devices: {} } } });
  const attr = parseAttribute(value);
  const kept: EncryptedDevice[] = attr.format === 'encrypted'
    ? attr.devices.filter((d) => d.name !== device.name)
    : attr.devices.filter((d) => d.name !== device.name).map((d) => encryptPlaintext(d.name, legacyToPlaintext(d), km));
  const doc = attr.format === 'encrypted' ? attr.doc : { otpdata: { devices: {} } };
  return formatAttribute({ format: 'encrypted', devices: [...kept, fresh], doc });
}

export type DeviceAction =
  | 'rekeyed'          // was under a source key, now under the target
  | 'already-target'   // already under the target key: left as it is
  | 'legacy-encrypted' // plaintext, encrypted because asked to
  | 'legacy-kept'      // plaintext, left because not asked to encrypt
  | 'decrypted'        // encrypted → plaintext (the vendor's "decrypt" job)
  | 'unknown-kid'      // under a certificate we were not given: left and reported
  | 'unreadable';      // KID matches but the plaintext is not device JSON: left and reported

export interface DeviceOutcome {
  name: string;
  action: DeviceAction;
  /** KID of the device before (encrypted devices). */
  kid?: string;
  detail?: string;
}

export interface TransformResult {
  /** The new value, or undefined when nothing changed. */
  value: string | undefined;
  devices: DeviceOutcome[];
  /** Secrets of every device, before, for the read-back check (never log). */
  secrets: Map<string, string>;
}

export interface RekeyOptions {
  /** Keys devices may currently be under (the old certificate, possibly several). */
  from: Keyring;
  /** The key to move devices to. */
  to: OtpKeyMaterial;
  /** Also encrypt legacy plaintext values. */
  includeLegacy?: boolean;
}

/**
 * Re-key one value: devices under a `from` key move to `to`, devices already under `to` stay,
 * anything unreadable stays as it is and is reported. The untouched parts of the value (unknown
 * JSON fields, devices we cannot read) are kept, so the rewrite loses nothing.
 */
export function rekeyValue(value: string, opts: RekeyOptions): TransformResult {
  const attr = parseAttribute(value);
  const secrets = new Map<string, string>();
  if (attr.format === 'legacy') {
    for (const d of attr.devices) secrets.set(d.name, d.secret);
    if (!opts.includeLegacy) {
      return { value: undefined, secrets, devices: attr.devices.map((d) => ({ name: d.name, action: 'legacy-kept' })) };
    }
    const devices = attr.devices.map((d) => encryptPlaintext(d.name, legacyToPlaintext(d), opts.to));
    return {
      value: formatAttribute({ format: 'encrypted', devices, doc: { otpdata: { devices: {} } } }),
      secrets,
      devices: attr.devices.map((d) => ({ name: d.name, action: 'legacy-encrypted' })),
    };
  }
  let changed = false;
  const outcomes: DeviceOutcome[] = [];
  const devices = attr.devices.map((d): EncryptedDevice => {
    const kid = toB64Url(d.kid);
    const isTarget = d.kid.equals(opts.to.kid);
    const km = isTarget ? opts.to : opts.from.get(d.kid);
    if (!km) {
      outcomes.push({ name: d.name, action: 'unknown-kid', kid });
      return d;
    }
    let plain: DecryptedDevice;
    try {
      plain = decryptDevice(d, km);
    } catch (err) {
      outcomes.push({ name: d.name, action: 'unreadable', kid, detail: err instanceof OtpDecryptError ? err.message : String(err) });
      return d;
    }
    secrets.set(d.name, plain.secret);
    if (isTarget) {
      outcomes.push({ name: d.name, action: 'already-target', kid });
      return d;
    }
    changed = true;
    outcomes.push({ name: d.name, action: 'rekeyed', kid });
    return encryptPlaintext(d.name, plain.plaintext, opts.to);
  });
  return { value: changed ? formatAttribute({ ...attr, devices }) : undefined, secrets, devices: outcomes };
}

/**
 * Encrypted → legacy plaintext (the vendor's "decrypt" job). Refuses the whole value when any
 * device cannot be decrypted: a partial decrypt would drop a device.
 */
export function decryptValue(value: string, keyring: Keyring): TransformResult {
  const attr = parseAttribute(value);
  const secrets = new Map<string, string>();
  if (attr.format === 'legacy') {
    for (const d of attr.devices) secrets.set(d.name, d.secret);
    return { value: undefined, secrets, devices: attr.devices.map((d) => ({ name: d.name, action: 'legacy-kept' })) };
  }
  const legacy = attr.devices.map((d) => {
    const plain = decryptWithKeyring(d, keyring);
    secrets.set(d.name, plain.secret);
    return plaintextToLegacy(d.name, plain.plaintext);
  });
  return {
    value: formatAttribute({ format: 'legacy', devices: legacy }),
    secrets,
    devices: attr.devices.map((d) => ({ name: d.name, action: 'decrypted', kid: toB64Url(d.kid) })),
  };
}

/** Check a value written by us: every device readable with `keyring` and secrets equal to `expected`. */
export function verifySecrets(value: string, keyring: Keyring, expected: Map<string, string>): string | undefined {
  let read: ReadResult;
  try {
    read = readSecrets(value, keyring);
  } catch (err) {
    return err instanceof OtpFormatError || err instanceof OtpDecryptError ? err.message : String(err);
  }
  for (const [name, secret] of expected) {
    const dev = read.devices.find((d) => d.name === name);
    if (!dev) return `device "${name}" is missing after the write`;
    if (dev.secret !== secret) return `device "${name}" has a different secret after the write`;
  }
  return undefined;
}

function extrasOf(extras: string[]): { alg?: string; tag?: string } {
  const out: { alg?: string; tag?: string } = {};
  for (const e of extras) {
    const [k, v] = [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)];
    if (k === 'alg') out.alg = v;
    if (k === 'tag') out.tag = v;
  }
  return out;
}
