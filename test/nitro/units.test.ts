import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../src/nitro/client.js';
import { redactBody } from '../../src/nitro/errors.js';
import { certFactsFromCert, compareCertkey, normDn, toCertkeyInfo } from '../../src/nitro/sslcertkey.js';
import { normalizeFingerprint } from '../../src/tls/https-agent.js';
import { uniqueFileName } from '../../src/transfer/naming.js';
import { otpCert } from './helpers.js';

describe('pure helpers', () => {
  it('encodes values inside args but keeps the : and , separators', () => {
    expect(buildQuery({ args: { filelocation: '/nsconfig/ssl', filename: 'a,b:c.pem' }, action: 'sync' })).toBe('?args=filelocation:%2Fnsconfig%2Fssl,filename:a%2Cb%3Ac.pem&action=sync');
    expect(buildQuery(undefined)).toBe('');
  });

  it('redacts secrets at any depth', () => {
    const r = redactBody({ a: { password: 'p', passplain: 'q', nested: [{ filecontent: 'c', keep: 1 }] } });
    expect(r).toEqual({ a: { password: '[REDACTED]', passplain: '[REDACTED]', nested: [{ filecontent: '[REDACTED]', keep: 1 }] } });
  });

  it('normalises fingerprints written with colons, case or a sha256: prefix', () => {
    expect(normalizeFingerprint('SHA256:AB:CD')).toBe('abcd');
  });

  it('makes unique names within 63 characters, timestamped in UTC', () => {
    const when = new Date('2026-11-23T10:15:00.123Z');
    expect(uniqueFileName('otp-new', 'pem', when)).toBe('otp-new-20261123T101500Z.pem');
    expect(uniqueFileName('otp new/x', '.key', when, 3)).toBe('otp-new-x-20261123T101500Z-3.key');
    expect(uniqueFileName('x'.repeat(100), 'pem', when).length).toBe(63);
  });

  it('compares a certkey in the appliance formats with the local certificate', () => {
    const pair = otpCert('cmp');
    const local = certFactsFromCert(pair.certPem);
    const fmt = (d: Date): string => d.toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$2 $1 $4 $3 GMT');
    const info = toCertkeyInfo({
      certkey: 'cmp',
      serial: `00${local.serialHex.toLowerCase()}`,
      subject: local.subject.split('\n').reverse().join(','),
      issuer: local.issuer.replace(/\n/g, ', '),
      clientcertnotbefore: fmt(local.notBefore),
      clientcertnotafter: fmt(local.notAfter),
      publickeysize: local.publicKeyBits,
      certkeydigest: local.sha1Hex.toUpperCase(),
    });
    expect(compareCertkey(info, local)).toEqual([]);
    const other = certFactsFromCert(otpCert('cmp').certPem);
    expect(compareCertkey(info, other).join('\n')).toMatch(/serial/);
    expect(normDn('CN=a, O=b')).toBe(normDn('O=b\nCN=a'));
  });
});
