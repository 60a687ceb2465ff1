import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decryptDevices,
  decryptMany,
  decryptWithKeyring,
  encryptValue,
  formatDeviceValue,
  Keyring,
  kidsOf,
  loadKeyMaterial,
  parseDeviceValue,
  readSecrets,
  type OtpKeyMaterial,
} from '../../src/otp/index.js';
import { makeOpensslFixtures, opensslOtp, type OpensslFixtures } from '../helpers/openssl-fixtures.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
let fx: OpensslFixtures;
let km: OtpKeyMaterial;

beforeAll(async () => {
  fx = makeOpensslFixtures();
  km = await loadKeyMaterial({ cert: fx.cert, key: fx.key });
});
afterAll(() => fx.cleanup());

describe('known answers from the openssl command line', () => {
  it('KID is the SHA-1 of the certificate DER, URL-safe base64 with padding', () => {
    expect(km.kidText).toBe(opensslOtp(['kid', fx.cert]));
    expect(km.kidText).toMatch(/=$/);
  });

  it('the AES key is HKDF-SHA256 of base64(PKCS#1 key) salted with base64(cert DER)', () => {
    expect(km.aesKey.toString('hex')).toBe(opensslOtp(['key', fx.cert, fx.key]));
  });

  it('decrypts a device that openssl encrypted with AES-256-CTR from IV||00000002', () => {
    const json = `{"secret":"${SECRET}","tag":"t1","alg":"sha1","extra":42}`;
    const dev = opensslOtp(['encrypt', fx.cert, fx.key, '00112233445566778899aabb', json]);
    const value = `{"otpdata":{"devices":{"phone":"${dev}"}}}`;
    const read = readSecrets(value, new Keyring([km]));
    expect(read.devices).toEqual([{ name: 'phone', secret: SECRET, kid: km.kidText, alg: 'sha1', tag: 't1' }]);
    // The exact plaintext survives too, fields we do not model included.
    const plain = decryptWithKeyring(parseDeviceValue('phone', dev), new Keyring([km]));
    expect(plain.plaintext.toString()).toBe(json);
  });

  it('the batched decryption (one AES-ECB call for many devices) reads what openssl encrypted, as the reader does', () => {
    const jsons = [`{"secret":"${SECRET}"}`, `{"secret":"${SECRET}","tag":"${'t'.repeat(64)}","alg":"sha256"}`, `{"secret":"GEZDGNBVGY3TQOJQ"}`];
    const ivs = ['00112233445566778899aabb', 'ffffffffffffffffffffffff', '000000000000000000000001'];
    const devs = jsons.map((j, i) => parseDeviceValue(`d${i}`, opensslOtp(['encrypt', fx.cert, fx.key, ivs[i], j])));
    expect(decryptMany(km.aesKey, devs).map((b) => b.toString())).toEqual(jsons);
    expect(decryptDevices(devs.map((dev) => ({ dev, km }))).map((d) => ('plaintext' in d ? d.plaintext.toString() : d))).toEqual(jsons);
  });

  it('what we encrypt (AES-GCM without the tag) openssl decrypts', () => {
    const value = encryptValue(
      [
        { name: 'phone', secret: SECRET },
        { name: 'tablet', secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY' },
      ],
      km,
    );
    const devices = (JSON.parse(value) as { otpdata: { devices: Record<string, string> } }).otpdata.devices;
    expect(JSON.parse(opensslOtp(['decrypt', fx.cert, fx.key, devices['phone']]))).toEqual({ secret: SECRET });
    expect(JSON.parse(opensslOtp(['decrypt', fx.cert, fx.key, devices['tablet']]))).toEqual({ secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY' });
  });
});

describe('device values', () => {
  it('uses a fresh IV for every device and every write', () => {
    const a = encryptValue(
      [
        { name: 'a', secret: SECRET },
        { name: 'b', secret: SECRET },
      ],
      km,
    );
    const b = encryptValue(
      [
        { name: 'a', secret: SECRET },
        { name: 'b', secret: SECRET },
      ],
      km,
    );
    const ivs = [a, b].flatMap((v) => Object.values((JSON.parse(v) as { otpdata: { devices: Record<string, string> } }).otpdata.devices).map((d) => d.split('.')[1]));
    expect(new Set(ivs).size).toBe(4);
  });

  it('reads unpadded base64 and writes it padded', () => {
    const padded = encryptValue([{ name: 'p', secret: SECRET }], km);
    const unpadded = padded.replace(/=/g, '');
    expect(readSecrets(unpadded, new Keyring([km])).devices[0].secret).toBe(SECRET);
    const dev = parseDeviceValue('p', (JSON.parse(unpadded) as { otpdata: { devices: { p: string } } }).otpdata.devices.p);
    expect(formatDeviceValue(dev)).toBe((JSON.parse(padded) as { otpdata: { devices: { p: string } } }).otpdata.devices.p);
    expect(kidsOf(unpadded)).toEqual([km.kidText]);
  });

  it('says "cannot decrypt with this certificate" naming both KIDs for a foreign value', async () => {
    const other = await loadKeyMaterial({ cert: fx.otherCert, key: fx.otherKey });
    const value = encryptValue([{ name: 'phone', secret: SECRET }], other);
    expect(() => readSecrets(value, new Keyring([km]))).toThrow(new RegExp(`cannot decrypt with this certificate.*KID ${escape(other.kidText)}.*${escape(km.kidText)}`));
  });

  it('detects a wrong key even when the KID matches (no GCM tag: JSON + Base32 is the check)', () => {
    const value = encryptValue([{ name: 'phone', secret: SECRET }], km);
    const tampered = value.replace(/\.([A-Za-z0-9_-]{4})/, (_m, g: string) => '.' + (g[0] === 'A' ? 'B' : 'A') + g.slice(1));
    expect(() => readSecrets(tampered, new Keyring([km]))).toThrow(/cannot decrypt with this certificate/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
