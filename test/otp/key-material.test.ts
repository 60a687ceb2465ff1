import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadKeyMaterial } from '../../src/otp/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import { makeOpensslFixtures, opensslOtp, type OpensslFixtures } from '../helpers/openssl-fixtures.js';

let fx: OpensslFixtures;
let expectedKey: string;
beforeAll(() => {
  fx = makeOpensslFixtures();
  expectedKey = opensslOtp(['key', fx.cert, fx.key]);
});
afterAll(() => fx.cleanup());

describe('loading key material in every form operators have', () => {
  it.each([
    ['separate PEM files', () => ({ cert: fx.cert, key: fx.key })],
    ['one merged PEM', () => ({ cert: fx.merged })],
    ['an encrypted PKCS#8 key', () => ({ cert: fx.cert, key: fx.pkcs8EncryptedKey, passphrase: fx.passphrase })],
    ['an encrypted traditional (PKCS#1) key', () => ({ cert: fx.cert, key: fx.traditionalEncryptedKey, passphrase: fx.passphrase })],
    ['a PKCS#12 file as OpenSSL 3 writes it (AES, SHA-256 MAC)', () => ({ cert: fx.pfx, passphrase: fx.passphrase })],
    ['a legacy PKCS#12 file (3DES, SHA-1 MAC)', () => ({ cert: fx.pfxLegacy, passphrase: fx.passphrase })],
  ])('%s gives the same derived key as openssl', async (_name, opts) => {
    const km = await loadKeyMaterial(opts());
    expect(km.aesKey.toString('hex')).toBe(expectedKey);
    expect(km.subject).toContain('CN=otp');
    expect(km.publicKeyBits).toBe(2048);
  });

  it('reports subject, serial, validity and KID', async () => {
    const km = await loadKeyMaterial({ cert: fx.merged });
    expect(km.serial).toMatch(/^[0-9A-F]+$/);
    expect(km.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(km.kidText).toBe(opensslOtp(['kid', fx.cert]));
  });
});

describe('refusing bad key material, each with a message naming the file', () => {
  const cases: [string, () => Parameters<typeof loadKeyMaterial>[0], RegExp][] = [
    ['a missing file', () => ({ cert: join(fx.dir, 'nope.pem') }), /nope\.pem: cannot read the certificate file \(ENOENT\)/],
    ['a certificate without a key', () => ({ cert: fx.cert }), /otp\.pem: holds a certificate but no private key/],
    ['a key that belongs to another certificate', () => ({ cert: fx.cert, key: fx.otherKey }), /does not match the certificate/],
    ['an encrypted key without a passphrase', () => ({ cert: fx.cert, key: fx.pkcs8EncryptedKey }), /encrypted; give its passphrase with --passphrase-env/],
    ['an encrypted key with the wrong passphrase', () => ({ cert: fx.cert, key: fx.traditionalEncryptedKey, passphrase: 'wrong' }), /wrong passphrase/],
    ['a PKCS#12 with the wrong passphrase', () => ({ cert: fx.pfx, passphrase: 'wrong' }), /otp\.pfx: .*wrong passphrase/],
    ['an EC certificate', () => ({ cert: fx.ecCert, key: fx.ecKey }), /ec, not RSA/],
    ['a file that is not a certificate', () => ({ cert: fx.key }), /no PEM certificate found/],
  ];
  it.each(cases)('%s', async (_name, opts, msg) => {
    const err = await loadKeyMaterial(opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(msg);
  });

  it('refuses an expired certificate unless asked to allow it', async () => {
    const expired = selfSignedCert({ cn: 'old otp', notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    const file = join(fx.dir, 'expired.pem');
    writeFileSync(file, expired.certPem + expired.keyPem);
    await expect(loadKeyMaterial({ cert: file })).rejects.toThrow(/expired\.pem: certificate .*old otp.* expired on 2021-01-01/);
    await expect(loadKeyMaterial({ cert: file, allowExpired: true })).resolves.toMatchObject({ subject: expect.stringContaining('old otp') });
  });

  it('refuses a certificate that is not yet valid', async () => {
    const future = selfSignedCert({ cn: 'future otp', notBefore: new Date(Date.now() + 86_400_000 * 10) });
    const file = join(fx.dir, 'future.pem');
    writeFileSync(file, future.certPem + future.keyPem);
    await expect(loadKeyMaterial({ cert: file })).rejects.toThrow(/is not valid before/);
  });
});
