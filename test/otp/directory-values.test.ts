// Values real directories hold that the ADC itself would not write: secrets in other alphabets or
// case (public tools accept [-A-Za-z0-9]{20,}), extra fields, an empty device name. A cutover must
// move them byte for byte, and still catch a wrong key.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Keyring,
  decryptDevice,
  encryptPlaintext,
  formatAttribute,
  keyMaterialFromPem,
  parseAttribute,
  readSecrets,
  rekeyValue,
  type EncryptedDevice,
  type OtpKeyMaterial,
} from '../../src/otp/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';

const S1 = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
let oldKey: OtpKeyMaterial;
let newKey: OtpKeyMaterial;
let strayKey: OtpKeyMaterial;
beforeAll(() => {
  const mk = (cn: string) => {
    const p = selfSignedCert({ cn, keyBits: 1024 });
    return keyMaterialFromPem(p.certPem, p.keyPem);
  };
  [oldKey, newKey, strayKey] = [mk('dv old'), mk('dv new'), mk('dv stray')];
});

/** An encrypted value whose devices hold exactly these plaintext bytes. */
function valueOf(devices: { name: string; plaintext: string }[], km: OtpKeyMaterial): string {
  return formatAttribute({ format: 'encrypted', doc: { otpdata: { devices: {} } }, devices: devices.map((d) => encryptPlaintext(d.name, Buffer.from(d.plaintext, 'utf8'), km)) });
}

function plaintexts(value: string, km: OtpKeyMaterial): Map<string, string> {
  const attr = parseAttribute(value);
  if (attr.format !== 'encrypted') throw new Error('expected an encrypted value');
  return new Map(attr.devices.map((d) => [d.name, decryptDevice(d, km).plaintext.toString('utf8')]));
}

describe('secrets of any alphabet or case', () => {
  const odd = [
    { name: 'lower', plaintext: '{"secret":"jbswy3dpehpk3pxpjbswy3dpeh"}' },
    { name: 'dashes', plaintext: '{"secret":"Ab-12-cd-34-EF-56-gh-78-ij"}' },
    { name: 'digits', plaintext: '{"secret":"01890189018901890189","alg":"sha256"}' },
    { name: 'padded', plaintext: '{"secret":"JBSWY3DPEHPK3PXP====","tag":"t"}' },
    { name: 'spaced', plaintext: '{ "secret" : "JBSW Y3DP EHPK 3PXP", "x": [1, 2] }' },
    { name: 'short', plaintext: '{"secret":""}' },
  ];

  it('re-encrypts every device byte for byte under the new key', () => {
    const before = valueOf(odd, oldKey);
    const r = rekeyValue(before, { from: new Keyring([oldKey]), to: newKey });
    expect(r.devices.map((d) => [d.name, d.action])).toEqual(odd.map((d) => [d.name, 'rekeyed']));
    const after = plaintexts(r.value!, newKey);
    for (const d of odd) expect(after.get(d.name)).toBe(d.plaintext);
    // The secrets read back are the strings the devices hold, whatever their alphabet.
    const read = readSecrets(r.value!, new Keyring([newKey]));
    expect(read.devices.find((d) => d.name === 'lower')!.secret).toBe('jbswy3dpehpk3pxpjbswy3dpeh');
  });

  it('still catches a wrong key: the KID matches but the plaintext is not a JSON object with a string secret', () => {
    // The old key's KID on bytes encrypted with another key: what a wrong or swapped key gives.
    const right = encryptPlaintext('phone', Buffer.from(`{"secret":"${S1}"}`), strayKey);
    const forged: EncryptedDevice = { ...right, kid: oldKey.kid };
    const value = formatAttribute({ format: 'encrypted', doc: { otpdata: { devices: {} } }, devices: [forged] });
    const r = rekeyValue(value, { from: new Keyring([oldKey]), to: newKey });
    expect(r.devices[0].action).toBe('unreadable');
    expect(r.value).toBeUndefined();
  });

  it('refuses a plaintext that is JSON but whose secret is not a string', () => {
    for (const plaintext of ['{"secret":123}', '["secret"]', '{"tag":"x"}', '"secret"']) {
      const r = rekeyValue(valueOf([{ name: 'phone', plaintext }], oldKey), { from: new Keyring([oldKey]), to: newKey });
      expect(r.devices[0].action, plaintext).toBe('unreadable');
    }
  });
});

describe('an empty device name is a device', () => {
  it('parses and formats the legacy and encrypted forms byte for byte', () => {
    const legacy = `#@=${S1}&,phone=${S1}&,`;
    const attr = parseAttribute(legacy);
    expect(attr.devices.map((d) => d.name)).toEqual(['', 'phone']);
    expect(formatAttribute(attr)).toBe(legacy);
    const enc = valueOf([{ name: '', plaintext: `{"secret":"${S1}"}` }], oldKey);
    expect(enc.startsWith('{"otpdata":{"devices":{"":"')).toBe(true);
    expect(formatAttribute(parseAttribute(enc))).toBe(enc);
  });

  it('is re-encrypted with the others', () => {
    const devices = [
      { name: '', plaintext: `{"secret":"${S1}","tag":"a"}` },
      { name: 'phone', plaintext: '{"secret":"abcdefghijklmnopqrstu"}' },
    ];
    const r = rekeyValue(valueOf(devices, oldKey), { from: new Keyring([oldKey]), to: newKey });
    expect(r.devices.map((d) => d.action)).toEqual(['rekeyed', 'rekeyed']);
    const after = plaintexts(r.value!, newKey);
    expect(after.get('')).toBe(devices[0].plaintext);
    expect(after.get('phone')).toBe(devices[1].plaintext);
  });

  it("a legacy secret in the public tools' alphabet is accepted; one that breaks the syntax is not", () => {
    expect(parseAttribute('#@phone=ab-CD-12-ef-GH-34-ij-KL&,').devices[0].name).toBe('phone');
    expect(() => parseAttribute('#@phone=not base32!&,')).toThrow(/not Base32/);
  });
});
