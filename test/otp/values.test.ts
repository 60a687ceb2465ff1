import { beforeAll, describe, expect, it } from 'vitest';
import {
  addDevice,
  decryptValue,
  encryptValue,
  Keyring,
  keyMaterialFromPem,
  legacyValue,
  readSecrets,
  rekeyValue,
  totpCode,
  totpVerify,
  verifySecrets,
  type OtpKeyMaterial,
} from '../../src/otp/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';

const S1 = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
const S2 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY';
let oldKey: OtpKeyMaterial;
let newKey: OtpKeyMaterial;
let strayKey: OtpKeyMaterial;
beforeAll(() => {
  const mk = (cn: string) => {
    const p = selfSignedCert({ cn });
    return keyMaterialFromPem(p.certPem, p.keyPem);
  };
  [oldKey, newKey, strayKey] = [mk('otp old'), mk('otp new'), mk('otp stray')];
});

describe('rekeyValue', () => {
  it('moves every device from the old key to the new one, secrets and extra fields intact', () => {
    const before = encryptValue(
      [
        { name: 'phone', secret: S1, tag: 'x'.repeat(64) },
        { name: 'tablet', secret: S2, alg: 'sha256' },
      ],
      oldKey,
    );
    const r = rekeyValue(before, { from: new Keyring([oldKey]), to: newKey });
    expect(r.devices.map((d) => d.action)).toEqual(['rekeyed', 'rekeyed']);
    const after = readSecrets(r.value!, new Keyring([newKey]));
    expect(after.devices).toEqual([
      { name: 'phone', secret: S1, tag: 'x'.repeat(64), kid: newKey.kidText },
      { name: 'tablet', secret: S2, alg: 'sha256', kid: newKey.kidText },
    ]);
    expect(verifySecrets(r.value!, new Keyring([newKey]), r.secrets)).toBeUndefined();
  });

  it('is idempotent: a value already under the new key is left unchanged', () => {
    const v = encryptValue([{ name: 'phone', secret: S1 }], newKey);
    const r = rekeyValue(v, { from: new Keyring([oldKey]), to: newKey });
    expect(r.value).toBeUndefined();
    expect(r.devices[0].action).toBe('already-target');
  });

  it('leaves a device under an unknown KID as it is, byte for byte, while moving the others', () => {
    const mixed = addDevice(encryptValue([{ name: 'phone', secret: S1 }], oldKey), { name: 'stray', secret: S2 }, strayKey);
    const strayPart = (JSON.parse(mixed) as { otpdata: { devices: Record<string, string> } }).otpdata.devices['stray'];
    const r = rekeyValue(mixed, { from: new Keyring([oldKey]), to: newKey });
    expect(r.devices.map((d) => [d.name, d.action])).toEqual([
      ['phone', 'rekeyed'],
      ['stray', 'unknown-kid'],
    ]);
    expect((JSON.parse(r.value!) as { otpdata: { devices: Record<string, string> } }).otpdata.devices['stray']).toBe(strayPart);
  });

  it('encrypts legacy plaintext only when asked, keeping its extras as JSON fields', () => {
    const legacy = `#@phone=${S1}&tag=abc&,`;
    expect(rekeyValue(legacy, { from: new Keyring([oldKey]), to: newKey }).value).toBeUndefined();
    const r = rekeyValue(legacy, { from: new Keyring([oldKey]), to: newKey, includeLegacy: true });
    expect(readSecrets(r.value!, new Keyring([newKey])).devices).toEqual([{ name: 'phone', secret: S1, tag: 'abc', kid: newKey.kidText }]);
  });

  it('reports a device whose KID matches but whose ciphertext is corrupt, and does not rewrite it', () => {
    const v = encryptValue([{ name: 'phone', secret: S1 }], oldKey);
    const corrupt = v.replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]*)"/, (_m, a: string, rest: string) => `.${a === 'A' ? 'B' : 'A'}${rest}"`);
    const r = rekeyValue(corrupt, { from: new Keyring([oldKey]), to: newKey });
    expect(r.devices[0].action).toBe('unreadable');
    expect(r.value).toBeUndefined();
  });
});

describe('decryptValue and legacyValue', () => {
  it('turns an encrypted value into the legacy form the ADC still reads', () => {
    const v = encryptValue(
      [
        { name: 'phone', secret: S1 },
        { name: 'tab', secret: S2, tag: 'tg' },
      ],
      oldKey,
    );
    const r = decryptValue(v, new Keyring([oldKey]));
    expect(r.value).toBe(`#@phone=${S1}&,tab=${S2}&tag=tg&,`);
    expect(legacyValue([{ name: 'phone', secret: S1 }])).toBe(`#@phone=${S1}&,`);
  });

  it('refuses to decrypt when one device is under another certificate (a partial decrypt would drop it)', () => {
    const v = addDevice(encryptValue([{ name: 'phone', secret: S1 }], oldKey), { name: 'x', secret: S2 }, strayKey);
    expect(() => decryptValue(v, new Keyring([oldKey]))).toThrow(/device "x": cannot decrypt with this certificate/);
  });
});

describe('addDevice (registration)', () => {
  it('adds a device under the given key and keeps the others as they were', () => {
    const v = encryptValue([{ name: 'phone', secret: S1 }], oldKey);
    const added = addDevice(v, { name: 'tablet', secret: S2 }, newKey);
    const read = readSecrets(added, new Keyring([oldKey, newKey]));
    expect(read.devices.map((d) => [d.name, d.kid])).toEqual([
      ['phone', oldKey.kidText],
      ['tablet', newKey.kidText],
    ]);
    expect(readSecrets(addDevice(undefined, { name: 'a', secret: S1 }, newKey), new Keyring([newKey])).devices[0].secret).toBe(S1);
  });
});

describe('TOTP', () => {
  it('matches the RFC 6238 SHA-1 test vector', () => {
    // RFC 6238 appendix B: secret "12345678901234567890", T=59 s → 94287082 (8 digits).
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(totpCode(secret, { time: 59_000, digits: 8 })).toBe('94287082');
    expect(totpCode(secret, { time: 1_111_111_109_000, digits: 8 })).toBe('07081804');
  });

  it('accepts the neighbouring step and refuses older ones', () => {
    const t = 1_700_000_000_000;
    const code = totpCode(S1, { time: t });
    expect(totpVerify(S1, code, { time: t + 30_000 })).toBe(true);
    expect(totpVerify(S1, code, { time: t + 90_000 })).toBe(false);
  });
});
