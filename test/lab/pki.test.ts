import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateCa, issueCert, KEY_POOL_ENV, selfSignedCert } from '../../src/lab/pki.js';

describe('lab PKI', () => {
  it('issues a server certificate the CA verifies, with IP and DNS SANs and a matching PKCS#1 key', () => {
    const ca = generateCa('Lab CA');
    const server = issueCert(ca, { cn: 'localhost', sans: ['localhost', '127.0.0.1'] });
    const cert = new X509Certificate(server.certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
    expect(server.keyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('makes self-signed certificates with the validity asked for', () => {
    const notBefore = new Date('2020-01-01T00:00:00Z');
    const notAfter = new Date('2021-01-01T00:00:00Z');
    const cert = new X509Certificate(selfSignedCert({ cn: 'OTP expired', notBefore, notAfter }).certPem);
    expect(new Date(cert.validTo).getTime()).toBe(notAfter.getTime());
    expect(cert.subject).toContain('CN=OTP expired');
  });

  it("in the test run, keys come from the run's pool, in turn: as many in a row as the pool holds are distinct", () => {
    // The global setup (test/global-setup.ts) made the pool; without it every key would be new.
    const file = process.env[KEY_POOL_ENV];
    expect(file, `${KEY_POOL_ENV} set by the global setup`).toBeTruthy();
    const poolKeys: string[] = readFileSync(file!, 'utf8').match(/-----BEGIN RSA PRIVATE KEY-----[^-]+-----END RSA PRIVATE KEY-----\n/g) ?? [];
    expect(poolKeys.length).toBeGreaterThanOrEqual(30);
    const made = Array.from({ length: poolKeys.length }, (_, i) => selfSignedCert({ cn: `pooled ${i}` }).keyPem);
    expect(made.every((k) => poolKeys.includes(k))).toBe(true);
    expect(new Set(made).size).toBe(poolKeys.length);
    // A certificate made from a pooled key carries that key's public half.
    const one = selfSignedCert({ cn: 'one more' });
    expect(new X509Certificate(one.certPem).checkPrivateKey(createPrivateKey(one.keyPem))).toBe(true);
  });
});
