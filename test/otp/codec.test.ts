import { describe, expect, it } from 'vitest';
import { formatAttribute, OtpFormatError, parseAttribute } from '../../src/otp/index.js';

const S1 = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
const S2 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY';
const KID = 'EYKtv4XxBnj9fJCJRCiKB7jAnaw=';
const DEV = `${KID}.AQIDBAUGBwgJCgsM.4HkHXTc8nQM32KrrymS6iPGIb7VtWjXZh92xOPsfv_J7SFojSIqr`;

describe('legacy form', () => {
  it('parses devices and keeps extra &key=value pairs verbatim, round trip byte for byte', () => {
    const value = `#@phone=${S1}&,tablet=${S2}&tag=${'a'.repeat(64)}&x=1&,`;
    const attr = parseAttribute(value);
    expect(attr).toEqual({
      format: 'legacy',
      devices: [
        { name: 'phone', secret: S1, extras: [] },
        { name: 'tablet', secret: S2, extras: [`tag=${'a'.repeat(64)}`, 'x=1'] },
      ],
    });
    expect(formatAttribute(attr)).toBe(value);
  });

  it.each([
    ['#@phone=' + S1, /does not end with "&,"/],
    ['#@', /has no device/],
    ['#@&,', /no "name=secret"/],
    ['#@phone=not-base32!&,', /not Base32/],
    [`#@phone=${S1}&,phone=${S2}&,`, /names device "phone" twice/],
    [`#@phone=${S1}&junk&,`, /malformed field/],
  ])('refuses %s', (value, msg) => {
    expect(() => parseAttribute(value)).toThrow(OtpFormatError);
    expect(() => parseAttribute(value)).toThrow(msg);
  });
});

describe('encrypted form', () => {
  it('parses KID.IV.CT devices and keeps unknown fields on a rewrite', () => {
    const value = `{"otpdata":{"devices":{"phone":"${DEV}"},"other":1},"v":2}`;
    const attr = parseAttribute(value);
    if (attr.format !== 'encrypted') throw new Error('expected the encrypted form');
    expect(attr.devices[0].kid.length).toBe(20);
    expect(attr.devices[0].iv.length).toBe(12);
    expect(formatAttribute(attr)).toBe(value);
  });

  it('keeps a device called __proto__ as an ordinary device', () => {
    const value = `{"otpdata":{"devices":{"__proto__":"${DEV}"}}}`;
    const attr = parseAttribute(value);
    expect(attr.devices.map((d) => d.name)).toEqual(['__proto__']);
    expect(formatAttribute(attr)).toBe(value);
  });

  it.each([
    ['{"otpdata":', /not valid JSON/],
    ['{"otp":{}}', /no \{"otpdata"/],
    ['{"otpdata":{"devices":[]}}', /no \{"otpdata"/],
    [`{"otpdata":{"devices":{"phone":1}}}`, /not a KID.IV.CT string/],
    [`{"otpdata":{"devices":{"phone":"a.b"}}}`, /three dot-separated parts/],
    [`{"otpdata":{"devices":{"phone":"AAAA.AQIDBAUGBwgJCgsM.AAAA"}}}`, /KID that is not 20 bytes/],
    [`{"otpdata":{"devices":{"phone":"${KID}.AQID.AAAA"}}}`, /IV that is not 12 bytes/],
    [`{"otpdata":{"devices":{"phone":"${KID}.AQIDBAUGBwgJCgsM.$$$"}}}`, /no ciphertext|not/],
    ['plain text', /neither legacy/],
    ['x'.repeat(70_000), /refusing to parse/],
  ])('refuses %s', (value, msg) => {
    expect(() => parseAttribute(value)).toThrow(OtpFormatError);
    expect(() => parseAttribute(value)).toThrow(msg);
  });

  it('survives deeply nested JSON without a stack overflow in our code', () => {
    const deep = '{"otpdata":{"devices":{},"x":' + '['.repeat(5000) + ']'.repeat(5000) + '}}';
    expect(parseAttribute(deep).devices).toEqual([]);
  });
});
