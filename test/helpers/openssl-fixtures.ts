// Certificate and key files made with the openssl command line (not with our own code), in
// every form operators bring: PEM pair, merged PEM, encrypted keys, PKCS#12, EC, mismatched.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslFixtures {
  dir: string;
  cert: string;
  key: string;
  merged: string;
  pkcs8EncryptedKey: string;
  traditionalEncryptedKey: string;
  pfx: string;
  pfxLegacy: string;
  passphrase: string;
  otherCert: string;
  otherKey: string;
  ecCert: string;
  ecKey: string;
  cleanup(): void;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeOpensslFixtures(): OpensslFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'otp-fixtures-'));
  const p = (n: string) => join(dir, n);
  const passphrase = 'fixture-pass-7Qz';
  const pair = (name: string, newkey: string) => openssl(['req', '-x509', '-newkey', newkey, '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`), '-days', '30', '-subj', `/CN=${name}`]);
  pair('otp', 'rsa:2048');
  pair('other', 'rsa:2048');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('ec.key'), '-out', p('ec.pem'), '-days', '30', '-subj', '/CN=ec']);
  writeFileSync(p('merged.pem'), readFileSync(p('otp.pem'), 'utf8') + readFileSync(p('otp.key'), 'utf8'));
  openssl(['pkcs8', '-topk8', '-in', p('otp.key'), '-out', p('otp-pkcs8-enc.key'), '-passout', `pass:${passphrase}`]);
  openssl(['rsa', '-in', p('otp.key'), '-traditional', '-aes256', '-out', p('otp-trad-enc.key'), '-passout', `pass:${passphrase}`]);
  openssl(['pkcs12', '-export', '-in', p('otp.pem'), '-inkey', p('otp.key'), '-out', p('otp.pfx'), '-passout', `pass:${passphrase}`]);
  openssl([
    'pkcs12',
    '-export',
    '-in',
    p('otp.pem'),
    '-inkey',
    p('otp.key'),
    '-out',
    p('otp-legacy.p12'),
    '-passout',
    `pass:${passphrase}`,
    '-keypbe',
    'PBE-SHA1-3DES',
    '-certpbe',
    'PBE-SHA1-3DES',
    '-macalg',
    'sha1',
  ]);
  return {
    dir,
    cert: p('otp.pem'),
    key: p('otp.key'),
    merged: p('merged.pem'),
    pkcs8EncryptedKey: p('otp-pkcs8-enc.key'),
    traditionalEncryptedKey: p('otp-trad-enc.key'),
    pfx: p('otp.pfx'),
    pfxLegacy: p('otp-legacy.p12'),
    passphrase,
    otherCert: p('other.pem'),
    otherKey: p('other.key'),
    ecCert: p('ec.pem'),
    ecKey: p('ec.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const SCRIPT = new URL('./otp-openssl.sh', import.meta.url).pathname;

/** The independent openssl implementation of docs/otp-format.md (test/helpers/otp-openssl.sh). */
export function opensslOtp(args: string[]): string {
  return execFileSync(SCRIPT, args, { encoding: 'utf8' });
}
