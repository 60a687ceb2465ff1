// The vendor's crypto, byte for byte (docs/otp-format.md): KID = SHA-1(cert DER);
// K = HKDF-SHA256(IKM = base64(PKCS#1 key DER), salt = base64(cert DER)) — the names look
// swapped and that is what the vendor tool does; AES-256-GCM with the tag dropped, read back
// as AES-256-CTR from IV||00000002 (GCM's first keystream block for a 96-bit IV).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type Cipher } from 'node:crypto';

export const KID_BYTES = 20;
export const IV_BYTES = 12;

export function kidOf(certDer: Buffer): Buffer {
  return createHash('sha1').update(certDer).digest();
}

export function deriveKey(pkcs1KeyDer: Buffer, certDer: Buffer): Buffer {
  const ikm = Buffer.from(pkcs1KeyDer.toString('base64'), 'utf8');
  const salt = Buffer.from(certDer.toString('base64'), 'utf8');
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.alloc(0), 32));
}

/** IVs handed out by freshIv(): CSPRNG bytes drawn in bulk (one call per 256 IVs), each slice used once. */
const IV_POOL = 256;
let ivPool = Buffer.alloc(0);
let ivPos = 0;

/**
 * A fresh random 12-byte IV. One randomBytes call per IV costs more than the AES work of a
 * device, so the bytes are drawn in bulk; every slice is handed out once and the pool is never
 * refilled in place (a refill is a new buffer), so no two devices ever share an IV.
 */
export function freshIv(): Buffer {
  if (ivPos + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IV_POOL);
    ivPos = 0;
  }
  const iv = ivPool.subarray(ivPos, ivPos + IV_BYTES);
  ivPos += IV_BYTES;
  return iv;
}

export function encryptBytes(aesKey: Buffer, plaintext: Buffer, iv: Buffer = freshIv()): { iv: Buffer; ct: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  // GCM is a stream mode: update() returns every ciphertext byte. final() would only compute
  // the tag (cipher.getAuthTag()), which is deliberately not kept: the ADC's format has no room
  // for it. So final() is not called; the known-answer tests decrypt our output with openssl.
  const ct = cipher.update(plaintext);
  if (ct.length !== plaintext.length) throw new Error(`AES-GCM returned ${ct.length} bytes for ${plaintext.length}`);
  return { iv, ct };
}

export function decryptBytes(aesKey: Buffer, iv: Buffer, ct: Buffer): Buffer {
  const counter = Buffer.concat([iv, Buffer.from([0, 0, 0, 2])]);
  const decipher = createDecipheriv('aes-256-ctr', aesKey, counter);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

const BLOCK = 16;
const blockCiphers = new WeakMap<Buffer, Cipher>();

/** One AES-256-ECB cipher per key, kept for the run: ECB has no state between blocks, so it can be fed forever. */
function blockCipher(aesKey: Buffer): Cipher {
  let c = blockCiphers.get(aesKey);
  if (!c) {
    c = createCipheriv('aes-256-ecb', aesKey, null);
    c.setAutoPadding(false);
    blockCiphers.set(aesKey, c);
  }
  return c;
}

/**
 * decryptBytes for many devices under one key with a single AES call. CTR mode's keystream is
 * AES-ECB of the counter blocks IV||00000002, IV||00000003, …, so the counter blocks of every
 * device go through one ECB update and each ciphertext is XORed with its share: the same bytes
 * as decryptBytes (the known-answer tests hold both to openssl), without a cipher object per
 * device. GCM increments only the low 32 bits; a value is far too short to wrap them.
 */
export function decryptMany(aesKey: Buffer, items: readonly { iv: Buffer; ct: Buffer }[]): Buffer[] {
  let blocks = 0;
  for (const it of items) {
    if (it.iv.length !== IV_BYTES) throw new RangeError(`IV is ${it.iv.length} bytes, not ${IV_BYTES}`);
    blocks += Math.ceil(it.ct.length / BLOCK);
  }
  if (blocks === 0) return items.map(() => Buffer.alloc(0));
  const counters = Buffer.allocUnsafe(blocks * BLOCK);
  let off = 0;
  for (const it of items) {
    const n = Math.ceil(it.ct.length / BLOCK);
    for (let j = 0; j < n; j++, off += BLOCK) {
      it.iv.copy(counters, off);
      counters.writeUInt32BE(2 + j, off + IV_BYTES);
    }
  }
  const stream = blockCipher(aesKey).update(counters);
  if (stream.length !== counters.length) throw new Error(`AES-ECB returned ${stream.length} bytes for ${counters.length}`);
  const out: Buffer[] = [];
  off = 0;
  for (const it of items) {
    const ct = it.ct;
    const pt = Buffer.allocUnsafe(ct.length);
    for (let i = 0; i < ct.length; i++) pt[i] = ct[i] ^ stream[off + i];
    out.push(pt);
    off += Math.ceil(ct.length / BLOCK) * BLOCK;
  }
  return out;
}
