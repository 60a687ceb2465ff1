import { describe, expect, it } from 'vitest';
import { freshCode, deviceSecret, SecretUnreadable } from '../../src/gateway/passcode.js';
import { newAcceptedSteps } from '../../src/gateway/index.js';
import { encryptValue, Keyring, keyMaterialFromPem, totpCode } from '../../src/otp/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import { fakeClock, timeInStep } from './clock.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
const device = { secret: SECRET };

describe('freshCode', () => {
  it('uses the current step when enough of it remains', async () => {
    const clock = fakeClock(timeInStep(10));
    const got = await freshCode(device, clock, newAcceptedSteps(), 'k', 5, () => {});
    expect(clock.sleeps).toEqual([]);
    expect(got.code).toBe(totpCode(SECRET, { time: timeInStep(10) }));
  });

  it('waits for the next step when fewer than 5 seconds remain', async () => {
    const clock = fakeClock(timeInStep(26));
    const notes: string[] = [];
    const got = await freshCode(device, clock, newAcceptedSteps(), 'k', 5, (n) => notes.push(n));
    expect(clock.sleeps).toEqual([4050]);
    expect(got.step).toBe(57_000_001);
    expect(got.code).toBe(totpCode(SECRET, { time: timeInStep(30.05) }));
    expect(notes[0]).toMatch(/only 4 s left/);
  });

  it('never hands out a step the gateway already accepted for that key', async () => {
    const clock = fakeClock(timeInStep(3));
    const accepted = newAcceptedSteps();
    accepted.set('gw|canary', 57_000_000);
    const got = await freshCode(device, clock, accepted, 'gw|canary', 5, () => {});
    expect(clock.sleeps).toEqual([27_050]);
    expect(got.step).toBe(57_000_001);
    const other = await freshCode(device, fakeClock(timeInStep(3)), accepted, 'gw|other', 5, () => {});
    expect(other.step).toBe(57_000_000);
  });
});

describe('deviceSecret', () => {
  const pem = selfSignedCert({ cn: 'otp' });
  const km = keyMaterialFromPem(pem.certPem, pem.keyPem);
  const otherPem = selfSignedCert({ cn: 'other' });
  const other = keyMaterialFromPem(otherPem.certPem, otherPem.keyPem);
  const value = encryptValue([{ name: 'phone', secret: SECRET }], km);

  it('reads the device from the directory value with the keys in force and names its KID', () => {
    expect(deviceSecret({ kind: 'directory', value, keyring: new Keyring([km]) })).toEqual({ secret: SECRET, kid: km.kidText });
  });

  it('refuses a value under a key that is not in force, without echoing the secret', () => {
    const read = () => deviceSecret({ kind: 'directory', value, keyring: new Keyring([other]) });
    expect(read).toThrow(SecretUnreadable);
    expect(() => read()).not.toThrow(new RegExp(SECRET));
    expect(read).toThrow(new RegExp(km.kidText.replace(/[-]/g, '\\-')));
    expect(() => deviceSecret({ kind: 'directory', value, keyring: new Keyring([km]), device: 'tablet' })).toThrow(/no device named "tablet"/);
  });
});
