import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateCa, issueCert, selfSignedCert } from '../../src/lab/pki.js';

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
});
