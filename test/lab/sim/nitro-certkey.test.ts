import { createPrivateKey, X509Certificate, createHash } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCert, type PemPair } from '../../../src/lab/pki.js';
import { startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { addCertkey, labTls, login, nitro, upload } from './helpers.js';

let sim: RunningSimulator;
let base: string;
let token: string;
let otp: PemPair;
let other: PemPair;
let expired: PemPair;

beforeAll(async () => {
  const tls = labTls();
  otp = selfSignedCert({ cn: 'otp-2025' });
  other = selfSignedCert({ cn: 'other' });
  expired = selfSignedCert({ cn: 'expired', notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
  sim = await startSimulator({
    appliances: [{ name: 'adc1', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass' }],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
  });
  base = sim.appliances[0].nitroUrl;
  token = await login(base);
  await upload(base, token, 'otp.crt', otp.certPem);
  await upload(base, token, 'otp.key', otp.keyPem);
  await upload(base, token, 'other.crt', other.certPem);
  await upload(base, token, 'other.key', other.keyPem);
});
afterAll(async () => {
  await sim.stop();
});

describe('sslcertkey', () => {
  it('adds a PEM pair and reports its fields, digest included', async () => {
    const r = await addCertkey(base, token, { certkey: 'otp', cert: 'otp.crt', key: 'otp.key', inform: 'PEM' });
    expect(r.status).toBe(201);
    const got = await nitro(base, 'GET', 'sslcertkey/otp', undefined, { token });
    const ck = (got.data.sslcertkey as Record<string, unknown>[])[0];
    const x = new X509Certificate(otp.certPem);
    expect(ck).toMatchObject({
      certkey: 'otp',
      cert: 'otp.crt',
      key: 'otp.key',
      inform: 'PEM',
      status: 'Valid',
      publickeysize: 2048,
      serial: x.serialNumber,
      clientcertnotafter: x.validTo,
      clientcertnotbefore: x.validFrom,
      certkeydigest: createHash('sha256').update(x.raw).digest('hex'),
    });
    expect(String(ck.subject)).toContain('CN=otp-2025');
    expect(ck.daystoexpiration).toBeGreaterThan(800);
    expect(JSON.stringify(got.data)).not.toContain('PRIVATE KEY');
  });

  it('refuses a duplicate name with 273 (HTTP 409)', async () => {
    const r = await addCertkey(base, token, { certkey: 'otp', cert: 'other.crt', key: 'other.key' });
    expect(r.status).toBe(409);
    expect(r.data.errorcode).toBe(273);
  });

  it('refuses the same certificate under another name with 273 naming the existing certkey', async () => {
    await upload(base, token, 'otp-copy.crt', otp.certPem);
    const r = await addCertkey(base, token, { certkey: 'otp2', cert: 'otp-copy.crt', key: 'otp.key' });
    expect(r.data.errorcode).toBe(273);
    expect(r.data.message).toContain('"otp"');
  });

  it('1536 for a file that is not a certificate, 1647 for one that is missing', async () => {
    await upload(base, token, 'junk.crt', 'not a certificate');
    expect((await addCertkey(base, token, { certkey: 'junk', cert: 'junk.crt', key: 'otp.key' })).data.errorcode).toBe(1536);
    expect((await addCertkey(base, token, { certkey: 'nofile', cert: 'absent.crt', key: 'otp.key' })).data.errorcode).toBe(1647);
  });

  it('1537 for a bad key, and for an encrypted key without its passphrase; 1614 for a wrong one; the passphrase works', async () => {
    await upload(base, token, 'junk.key', 'not a key');
    expect((await addCertkey(base, token, { certkey: 'badkey', cert: 'other.crt', key: 'junk.key' })).data.errorcode).toBe(1537);
    const enc = selfSignedCert({ cn: 'encrypted' });
    const encKey = createPrivateKey(enc.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw-123' }).toString();
    await upload(base, token, 'enc.crt', enc.certPem);
    await upload(base, token, 'enc.key', encKey);
    const noPass = await addCertkey(base, token, { certkey: 'enc', cert: 'enc.crt', key: 'enc.key' });
    expect(noPass.data.errorcode).toBe(1537);
    expect(noPass.status).toBe(599);
    expect((await addCertkey(base, token, { certkey: 'enc', cert: 'enc.crt', key: 'enc.key', passplain: 'wrong' })).data.errorcode).toBe(1614);
    expect((await addCertkey(base, token, { certkey: 'enc', cert: 'enc.crt', key: 'enc.key', passplain: 'pw-123' })).data.errorcode).toBe(0);
    const got = await nitro(base, 'GET', 'sslcertkey/enc', undefined, { token });
    expect(JSON.stringify(got.data)).not.toContain('pw-123');
  });

  it('1538 when the key does not match the certificate', async () => {
    const r = await addCertkey(base, token, { certkey: 'mismatch', cert: 'other.crt', key: 'otp.key' });
    expect(r.data.errorcode).toBe(1538);
  });

  it('loads an expired certificate (status Expired), with a 209 warning when asked', async () => {
    await upload(base, token, 'exp.crt', expired.certPem);
    await upload(base, token, 'exp.key', expired.keyPem);
    const r = await addCertkey(base, token, { certkey: 'exp', cert: 'exp.crt', key: 'exp.key' }, '?warning=yes');
    expect(r.status).toBe(209);
    expect(String(r.headers['x-nitro-warning'])).toMatch(/expired/);
    const got = await nitro(base, 'GET', 'sslcertkey/exp', undefined, { token });
    expect((got.data.sslcertkey as Record<string, unknown>[])[0]).toMatchObject({ status: 'Expired', daystoexpiration: 0 });
  });

  it('adds DER and PFX forms', async () => {
    const der = selfSignedCert({ cn: 'der' });
    await upload(base, token, 'der.cer', new X509Certificate(der.certPem).raw);
    await upload(base, token, 'der.key', createPrivateKey(der.keyPem).export({ type: 'pkcs1', format: 'der' }));
    expect((await addCertkey(base, token, { certkey: 'der', cert: 'der.cer', key: 'der.key', inform: 'DER' })).data.errorcode).toBe(0);

    const pfxPair = selfSignedCert({ cn: 'pfx' });
    const p12 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(pfxPair.keyPem), [forge.pki.certificateFromPem(pfxPair.certPem)], 'pfx-pw', { algorithm: '3des' });
    await upload(base, token, 'both.pfx', Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'));
    expect((await addCertkey(base, token, { certkey: 'pfx', cert: 'both.pfx', key: 'both.pfx', inform: 'PFX', passplain: 'bad' })).data.errorcode).toBe(1614);
    expect((await addCertkey(base, token, { certkey: 'pfx', cert: 'both.pfx', key: 'both.pfx', inform: 'PFX', passplain: 'pfx-pw' })).data.errorcode).toBe(0);
    const got = await nitro(base, 'GET', 'sslcertkey/pfx', undefined, { token });
    expect(String((got.data.sslcertkey as Record<string, unknown>[])[0].subject)).toContain('CN=pfx');
  });

  it('answers GET of a missing certkey with 258 (HTTP 404) and lists all without a name', async () => {
    const r = await nitro(base, 'GET', 'sslcertkey/absent', undefined, { token });
    expect(r.status).toBe(404);
    expect(r.data.errorcode).toBe(258);
    const all = await nitro(base, 'GET', 'sslcertkey?attrs=certkey,status', undefined, { token });
    const names = (all.data.sslcertkey as { certkey: string }[]).map((c) => c.certkey);
    expect(names).toEqual(expect.arrayContaining(['otp', 'exp', 'der', 'pfx']));
    expect(Object.keys((all.data.sslcertkey as object[])[0]).sort()).toEqual(['certkey', 'status']);
  });

  it('deletes: 1541 while bound as userDataEncryptionKey, 1540 when absent, done after unbind', async () => {
    await nitro(base, 'PUT', 'vpnglobal_sslcertkey_binding', { vpnglobal_sslcertkey_binding: { userdataencryptionkey: 'otp' } }, { token });
    const bound = await nitro(base, 'DELETE', 'sslcertkey/otp', undefined, { token });
    expect(bound.data.errorcode).toBe(1541);
    await nitro(base, 'DELETE', 'vpnglobal_sslcertkey_binding?args=userdataencryptionkey:otp', undefined, { token });
    expect((await nitro(base, 'DELETE', 'sslcertkey/otp', undefined, { token })).data.errorcode).toBe(0);
    expect((await nitro(base, 'DELETE', 'sslcertkey/otp', undefined, { token })).data.errorcode).toBe(1540);
  });
});
