// The vendor's crypto, byte for byte (OTP-FORMAT.md): KID = SHA-1(cert DER);
// K = HKDF-SHA256(IKM = base64(PKCS#1 key DER), salt = base64(cert DER)) — the names look
// swapped and that is what the vendor tool does; AES-256-GCM with the tag dropped, read back
// as AES-256-CTR from IV||00000002 (GCM's first keystream block for a 96-bit IV).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

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

export function encryptBytes(aesKey: Buffer, plaintext: Buffer, iv: Buffer = randomBytes(IV_BYTES)): { iv: Buffer; ct: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  // The tag (cipher.getAuthTag()) is deliberately not kept: the ADC's format has no room for it.
  return { iv, ct };
}

export function decryptBytes(aesKey: Buffer, iv: Buffer, ct: Buffer): Buffer {
  const counter = Buffer.concat([iv, Buffer.from([0, 0, 0, 2])]);
  const decipher = createDecipheriv('aes-256-ctr', aesKey, counter);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}
