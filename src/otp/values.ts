// Whole-value operations used by the commands, the re-encryption engine, the lab and the
// gateway check: read every secret, build a new value, add a device, re-key.
import { formatAttribute, kidText, parseAttribute, type EncryptedDevice, type LegacyAttribute, type OtpAttribute } from './codec.js';
import {
  decryptDevices,
  decryptWithKeyring,
  devicePlaintext,
  encryptPlaintext,
  legacyToPlaintext,
  parseDeviceJson,
  plaintextToLegacy,
  type DecryptedDevice,
  type Keyring,
  type PlainDevice,
} from './devices.js';
import { decryptMany } from './crypto.js';
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
  const kept: EncryptedDevice[] =
    attr.format === 'encrypted'
      ? attr.devices.filter((d) => d.name !== device.name)
      : attr.devices.filter((d) => d.name !== device.name).map((d) => encryptPlaintext(d.name, legacyToPlaintext(d), km));
  const doc = attr.format === 'encrypted' ? attr.doc : { otpdata: { devices: {} } };
  return formatAttribute({ format: 'encrypted', devices: [...kept, fresh], doc });
}

export type DeviceAction =
  | 'rekeyed' // was under a source key, now under the target
  | 'already-target' // already under the target key: left as it is
  | 'legacy-encrypted' // plaintext, encrypted because asked to
  | 'legacy-kept' // plaintext, left because not asked to encrypt
  | 'decrypted' // encrypted → plaintext (the vendor's "decrypt" job)
  | 'unknown-kid' // under a certificate we were not given: left and reported
  | 'unreadable'; // KID matches but the plaintext is not device JSON: left and reported

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
  /**
   * For devices whose secret was decrypted from the value (not legacy ones): the exact device
   * JSON the secret in `secrets` was parsed from, under the same name. A device that decrypts to
   * these very bytes holds that secret, so a check need not parse it again (verifyValues).
   */
  plaintexts?: Map<string, Buffer>;
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
  const [r] = rekeyValues([value], opts);
  if (!r.ok) throw r.error;
  return r.result;
}

/** One outcome of a batch: the result, or what rekeyValue would have thrown. */
export type Settled<T> = { ok: true; result: T } | { ok: false; error: unknown };

/**
 * rekeyValue for many values at once, in order: the same results, but the devices of the whole
 * batch are decrypted with one AES call per key (decryptMany) instead of a cipher per device.
 */
export function rekeyValues(values: readonly string[], opts: RekeyOptions): Settled<TransformResult>[] {
  const parsed = values.map((v): Settled<OtpAttribute> => {
    try {
      return { ok: true, result: parseAttribute(v) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  // Every device we hold a key for, across the batch, decrypted together.
  const wanted: { dev: EncryptedDevice; km: OtpKeyMaterial }[] = [];
  for (const p of parsed) {
    if (!p.ok || p.result.format !== 'encrypted') continue;
    for (const d of p.result.devices) {
      const km = d.kid.equals(opts.to.kid) ? opts.to : opts.from.get(d.kid);
      if (km) wanted.push({ dev: d, km });
    }
  }
  const opened = decryptDevices(wanted);
  let next = 0;
  return parsed.map((p): Settled<TransformResult> => {
    if (!p.ok) return p;
    const attr = p.result;
    if (attr.format === 'legacy') return { ok: true, result: rekeyLegacy(attr, opts) };
    const secrets = new Map<string, string>();
    const plaintexts = new Map<string, Buffer>();
    let changed = false;
    const outcomes: DeviceOutcome[] = [];
    const devices = attr.devices.map((d): EncryptedDevice => {
      const kid = kidText(d.kid);
      const isTarget = d.kid.equals(opts.to.kid);
      if (!isTarget && !opts.from.get(d.kid)) {
        outcomes.push({ name: d.name, action: 'unknown-kid', kid });
        return d;
      }
      const plain: DecryptedDevice | OtpDecryptError = opened[next++];
      if (!('plaintext' in plain)) {
        outcomes.push({ name: d.name, action: 'unreadable', kid, detail: plain instanceof OtpDecryptError ? plain.message : String(plain) });
        return d;
      }
      secrets.set(d.name, plain.secret);
      plaintexts.set(d.name, plain.plaintext);
      if (isTarget) {
        outcomes.push({ name: d.name, action: 'already-target', kid });
        return d;
      }
      changed = true;
      outcomes.push({ name: d.name, action: 'rekeyed', kid });
      return encryptPlaintext(d.name, plain.plaintext, opts.to);
    });
    return { ok: true, result: { value: changed ? formatAttribute({ ...attr, devices }) : undefined, secrets, plaintexts, devices: outcomes } };
  });
}

function rekeyLegacy(attr: LegacyAttribute, opts: RekeyOptions): TransformResult {
  const secrets = new Map<string, string>();
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

/**
 * verifySecrets for many values, in order, with one AES call per key for the whole batch
 * (decryptMany), for the values about to be written. The same check: every device of the value
 * readable with `keyring` and the secrets equal to `expected.secrets`, device for device. A device
 * that decrypts to exactly the bytes in `expected.plaintexts` holds the secret that was parsed
 * from those bytes; any other is parsed and checked as a reader would. When a value fails, the
 * reason is verifySecrets' own (the reader's path, Node's AES-CTR), so the message is the usual one.
 */
export function verifyValues(items: readonly { value: string; expected: Pick<TransformResult, 'secrets' | 'plaintexts'> }[], keyring: Keyring): (string | undefined)[] {
  const parsed = items.map((it) => {
    try {
      return parseAttribute(it.value);
    } catch {
      return undefined;
    }
  });
  const byKey = new Map<OtpKeyMaterial, { dev: EncryptedDevice; item: number }[]>();
  const unknownKid = new Set<number>();
  parsed.forEach((attr, item) => {
    if (attr?.format !== 'encrypted') return;
    for (const dev of attr.devices) {
      const km = keyring.get(dev.kid);
      if (!km) {
        unknownKid.add(item);
        continue;
      }
      const list = byKey.get(km);
      if (list) list.push({ dev, item });
      else byKey.set(km, [{ dev, item }]);
    }
  });
  // What each value reads as: device name → secret, or undefined when some device does not read.
  const read: (Map<string, string> | undefined)[] = parsed.map((attr, i) => (attr?.format === 'encrypted' && !unknownKid.has(i) ? new Map() : undefined));
  for (const [km, list] of byKey) {
    const plain = decryptMany(
      km.aesKey,
      list.map((l) => l.dev),
    );
    list.forEach(({ dev, item }, k) => {
      const got = read[item];
      if (!got) return;
      const { secrets, plaintexts } = items[item].expected;
      const known = plaintexts?.get(dev.name);
      const secret = known !== undefined && secrets.has(dev.name) && known.equals(plain[k]) ? secrets.get(dev.name) : parseDeviceJson(plain[k])?.secret;
      if (secret === undefined) read[item] = undefined;
      else got.set(dev.name, secret);
    });
  }
  return items.map((it, i) => {
    const got = read[i];
    const secrets = it.expected.secrets;
    if (got) {
      let ok = true;
      for (const [name, secret] of secrets) {
        if (got.get(name) !== secret) {
          ok = false;
          break;
        }
      }
      if (ok) return undefined;
    }
    // Legacy, unparseable, or a failure: the reader's own check, which also words the reason.
    // Should it pass where the fast path did not, the value is still refused.
    const bad = verifySecrets(it.value, keyring, secrets);
    return got === undefined && parsed[i]?.format === 'legacy' ? bad : (bad ?? 'the value does not read back as the original devices');
  });
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
