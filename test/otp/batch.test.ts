// The batched paths the re-encryption engine uses (one AES call per key for a whole group) must
// give exactly what the one-at-a-time reader gives: decryptMany ≡ decryptBytes, rekeyValues ≡
// rekeyValue, verifyValues ≡ verifySecrets — including every way a value can be wrong — and the
// direct writer of the usual document ≡ JSON.stringify.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addDevice,
  decryptBytes,
  decryptMany,
  encryptBytes,
  encryptValue,
  formatAttribute,
  formatDeviceValue,
  Keyring,
  keyMaterialFromPem,
  rekeyValue,
  rekeyValues,
  verifySecrets,
  verifyValues,
  type EncryptedAttribute,
  type OtpKeyMaterial,
  type TransformResult,
} from '../../src/otp/index.js';
import { freshIv } from '../../src/otp/crypto.js';
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
  [oldKey, newKey, strayKey] = [mk('batch old'), mk('batch new'), mk('batch stray')];
});

type Doc = { otpdata: { devices: Record<string, string> } };
/** Flip one base64 character of a device's ciphertext. */
function tamper(value: string, device: string): string {
  const doc = JSON.parse(value) as Doc;
  const [kid, iv, ct] = doc.otpdata.devices[device].split('.');
  doc.otpdata.devices[device] = `${kid}.${iv}.${ct[0] === 'A' ? 'B' : 'A'}${ct.slice(1)}`;
  return JSON.stringify(doc);
}

describe('decryptMany', () => {
  it('gives the bytes decryptBytes gives (AES-CTR from IV||00000002), for every length and many devices at once', () => {
    const key = randomBytes(32);
    const items = Array.from({ length: 80 }, (_, i) => ({ iv: randomBytes(12), ct: randomBytes(i) }));
    const got = decryptMany(key, items);
    items.forEach((it, i) => expect(got[i].equals(decryptBytes(key, it.iv, it.ct))).toBe(true));
    expect(decryptMany(key, [])).toEqual([]);
  });

  it('undoes what encryptBytes (AES-256-GCM, tag dropped) produced, and reuses its key across calls', () => {
    const key = randomBytes(32);
    for (let round = 0; round < 3; round++) {
      const pts = Array.from({ length: 10 }, (_, i) => randomBytes(1 + i * 7));
      const enc = pts.map((p) => encryptBytes(key, p));
      decryptMany(key, enc).forEach((p, i) => expect(p.equals(pts[i])).toBe(true));
    }
  });

  it('refuses an IV that is not 12 bytes', () => {
    expect(() => decryptMany(randomBytes(32), [{ iv: randomBytes(16), ct: randomBytes(4) }])).toThrow(/IV/);
  });
});

describe('freshIv', () => {
  it('hands out 12-byte IVs that never repeat, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const iv = freshIv();
      expect(iv.length).toBe(12);
      seen.add(iv.toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });
});

describe('rekeyValues', () => {
  it('gives, value for value and in order, what rekeyValue gives; a broken value gets its error in place', () => {
    const from = new Keyring([oldKey]);
    const values = [
      encryptValue(
        [
          { name: 'phone', secret: S1, tag: 't' },
          { name: 'tablet', secret: S2, alg: 'sha256' },
        ],
        oldKey,
      ),
      '{"otpdata":',
      encryptValue([{ name: 'phone', secret: S1 }], newKey),
      addDevice(encryptValue([{ name: 'phone', secret: S1 }], oldKey), { name: 'stray', secret: S2 }, strayKey),
      tamper(encryptValue([{ name: 'phone', secret: S1 }], oldKey), 'phone'),
      `#@phone=${S1}&tag=abc&,`,
      encryptValue([{ name: 'a', secret: S2 }], oldKey),
    ];
    const batch = rekeyValues(values, { from, to: newKey });
    expect(batch).toHaveLength(values.length);
    values.forEach((v, i) => {
      const b = batch[i];
      let one: TransformResult | undefined;
      let err: unknown;
      try {
        one = rekeyValue(v, { from, to: newKey });
      } catch (e) {
        err = e;
      }
      if (!b.ok) {
        expect(err).toBeDefined();
        expect(String(b.error)).toBe(String(err));
        return;
      }
      expect(b.result.devices).toEqual(one!.devices);
      expect(b.result.secrets).toEqual(one!.secrets);
      expect(b.result.value === undefined).toBe(one!.value === undefined);
      if (b.result.value) expect(verifySecrets(b.result.value, new Keyring([newKey, strayKey]), b.result.secrets)).toBeUndefined();
    });
    expect(batch[1].ok).toBe(false);
    expect(batch[4].ok && batch[4].result.devices[0].action).toBe('unreadable');
  });

  it('keeps, for each decrypted device, the exact plaintext its secret came from', () => {
    const [r] = rekeyValues([encryptValue([{ name: 'phone', secret: S1, tag: 'x' }], oldKey)], { from: new Keyring([oldKey]), to: newKey });
    expect(r.ok && r.result.plaintexts?.get('phone')?.toString()).toBe(`{"secret":"${S1}","tag":"x"}`);
  });
});

describe('verifyValues', () => {
  const keyring = () => new Keyring([newKey]);
  const moved = (devices: { name: string; secret: string }[]) => rekeyValue(encryptValue(devices, oldKey), { from: new Keyring([oldKey]), to: newKey });

  it('passes what verifySecrets passes, and fails what it fails, with its reason', () => {
    const good = moved([
      { name: 'phone', secret: S1 },
      { name: 'tablet', secret: S2 },
    ]);
    const other = moved([
      { name: 'phone', secret: S2 },
      { name: 'tablet', secret: S1 },
    ]);
    const cases: { value: string; expected: TransformResult }[] = [
      { value: good.value!, expected: good },
      // one ciphertext byte changed: no longer device JSON, or a different secret
      { value: tamper(good.value!, 'phone'), expected: good },
      // a valid value under the right key, but someone else's secrets
      { value: other.value!, expected: good },
      // a device missing
      { value: encryptValue([{ name: 'phone', secret: S1 }], newKey), expected: good },
      // a device under a key the check does not hold
      { value: addDevice(good.value, { name: 'stray', secret: S2 }, strayKey), expected: good },
      // still under the old key
      {
        value: encryptValue(
          [
            { name: 'phone', secret: S1 },
            { name: 'tablet', secret: S2 },
          ],
          oldKey,
        ),
        expected: good,
      },
      { value: 'not otp', expected: good },
      { value: `#@phone=${S1}&,tablet=${S2}&,`, expected: good },
      { value: `#@phone=${S1}&,`, expected: good },
    ];
    const fast = verifyValues(cases, keyring());
    const slow = cases.map((c) => verifySecrets(c.value, keyring(), c.expected.secrets));
    expect(fast[0]).toBeUndefined();
    for (let i = 1; i < cases.length; i++) {
      if (i === 7) continue; // legacy holding the right secrets: both pass
      expect(fast[i], `case ${i}`).toBeDefined();
    }
    expect(fast).toEqual(slow);
  });

  it('does not take a plaintext on trust: bytes that differ from the remembered ones are parsed and checked', () => {
    const good = moved([{ name: 'phone', secret: S1 }]);
    // Remembered bytes that match nothing: every device is parsed as a reader would.
    const stale = { secrets: good.secrets, plaintexts: new Map([['phone', Buffer.from('{"secret":"AAAAAAAAAAAAAAAA"}')]]) };
    expect(verifyValues([{ value: good.value!, expected: stale }], keyring())).toEqual([undefined]);
    // And a wrong secret is caught on the parse path too.
    const wrong = { secrets: new Map([['phone', S2]]), plaintexts: new Map<string, Buffer>() };
    expect(verifyValues([{ value: good.value!, expected: wrong }], keyring())[0]).toMatch(/different secret/);
  });
});

describe('formatAttribute', () => {
  it('writes exactly what JSON.stringify of the document writes, whatever the device names and the document', () => {
    const dev = (name: string) => ({ name, kid: newKey.kid, iv: randomBytes(12), ct: randomBytes(30) });
    const reference = (a: EncryptedAttribute) => {
      const devices = Object.fromEntries(a.devices.map((d) => [d.name, formatDeviceValue(d)]));
      const otpdata = typeof a.doc['otpdata'] === 'object' && a.doc['otpdata'] !== null && !Array.isArray(a.doc['otpdata']) ? a.doc['otpdata'] : {};
      return JSON.stringify({ ...a.doc, otpdata: { ...otpdata, devices } });
    };
    const names = [
      ['phone'],
      ['phone', 'tablet'],
      ['b', '2', 'a', '1'],
      ['4294967295', 'x'],
      ['a', 'a'],
      ['quo"te', 'back\\slash', 'é ☃ \u{1F600}', '\ud800'],
      ['__proto__'],
      ['constructor', 'toString'],
      [],
    ];
    const docs: Record<string, unknown>[] = [
      { otpdata: { devices: {} } },
      { otpdata: { devices: { old: 'x' } } },
      { otpdata: 'odd' },
      {},
      { otpdata: { devices: {}, extra: 1 } },
      { extra: true, otpdata: { devices: {} } },
      { otpdata: { devices: {} }, after: [1] },
      JSON.parse('{"__proto__":1,"otpdata":{"devices":{}}}') as Record<string, unknown>,
    ];
    for (const doc of docs) {
      for (const list of names) {
        const a: EncryptedAttribute = { format: 'encrypted', devices: list.map(dev), doc };
        expect(formatAttribute(a)).toBe(reference(a));
      }
    }
  });
});
