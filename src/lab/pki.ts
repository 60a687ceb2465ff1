// Certificates for the lab and the tests: a CA, server certificates for LDAPS/NITRO/gateway,
// and self-signed OTP encryption certificates. Keys come from node:crypto (native, fast);
// node-forge only assembles and signs the X.509 structures, which node:crypto cannot.
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface PemPair {
  certPem: string;
  /** PKCS#1 "RSA PRIVATE KEY" PEM, the form NetScaler and the vendor tool expect. */
  keyPem: string;
}

export interface CertOptions {
  cn: string;
  /** DNS names or IP addresses for subjectAltName. */
  sans?: string[];
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
  keyBits?: number;
}

/** Where a test run keeps the keys every lab of the run takes its own from (see `pooledKey`). */
export const KEY_POOL_ENV = 'ADC_LAB_KEY_POOL';
/** The size of key the pool holds: the lab's own (other sizes asked for are always generated). */
export const POOL_KEY_BITS = 2048;

let pool: { keys: string[]; next: number } | undefined;

/**
 * A 2048-bit RSA key takes about 0.2 s of CPU to generate, and a lab makes six, so key
 * generation was a tenth of the test suite's CPU: it starts dozens of labs. The suite therefore
 * makes a pool of keys once and names its file in ADC_LAB_KEY_POOL (PKCS#1 PEM blocks one after
 * the other). Each process takes the pool's keys in turn from a random place, so any keys one
 * process makes in a row, fewer than the pool holds, are distinct: a lab's CA, server and OTP
 * certificates never share a key, nor do a test's other certificates made beside them. Without
 * the variable, as for `lab up`, every key is new.
 */
function pooledKey(): string | undefined {
  const file = process.env[KEY_POOL_ENV];
  if (!file) return undefined;
  if (!pool) {
    const keys = readFileSync(file, 'utf8').match(/-----BEGIN RSA PRIVATE KEY-----[^-]+-----END RSA PRIVATE KEY-----\n/g) ?? [];
    if (keys.length === 0) throw new Error(`${KEY_POOL_ENV}=${file}: no PKCS#1 RSA key in it`);
    pool = { keys, next: randomInt(keys.length) };
  }
  const key = pool.keys[pool.next];
  pool.next = (pool.next + 1) % pool.keys.length;
  return key;
}

export function generateRsaKeyPem(bits: number): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

function newRsaKey(bits: number): { forgeKey: forge.pki.rsa.PrivateKey; keyPem: string } {
  const keyPem = (bits === POOL_KEY_BITS ? pooledKey() : undefined) ?? generateRsaKeyPem(bits);
  return { forgeKey: forge.pki.privateKeyFromPem(keyPem), keyPem };
}

function validity(opts: CertOptions): { notBefore: Date; notAfter: Date } {
  // Back-date a little so a freshly made certificate is valid on a clock that lags.
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + (opts.days ?? 825) * 86_400_000);
  return { notBefore, notAfter };
}

function serialHex(): string {
  // Positive, non-zero 16-byte serial (top bit cleared so DER keeps it positive).
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

function sign(
  subjectCn: string,
  subjectKey: { forgeKey: forge.pki.rsa.PrivateKey; keyPem: string },
  issuer: { cert: forge.pki.Certificate | null; key: forge.pki.rsa.PrivateKey },
  opts: CertOptions,
  extensions: object[],
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(subjectKey.forgeKey.n, subjectKey.forgeKey.e);
  cert.serialNumber = serialHex();
  const { notBefore, notAfter } = validity(opts);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [
    { name: 'commonName', value: subjectCn },
    { name: 'organizationName', value: 'adc-cutover lab' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(issuer.cert ? issuer.cert.subject.attributes : subject);
  cert.setExtensions(extensions);
  cert.sign(issuer.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

export function generateCa(cn: string, opts: Omit<CertOptions, 'cn'> = {}): PemPair {
  const key = newRsaKey(opts.keyBits ?? 2048);
  const certPem = sign(cn, key, { cert: null, key: key.forgeKey }, { cn, days: 3650, ...opts }, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem, keyPem: key.keyPem };
}

/** A TLS server certificate signed by the CA (SANs may mix DNS names and IPs). */
export function issueCert(ca: PemPair, opts: CertOptions): PemPair {
  const key = newRsaKey(opts.keyBits ?? 2048);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const altNames = (opts.sans ?? [opts.cn]).map((s) => (isIP(s) ? { type: 7, ip: s } : { type: 2, value: s }));
  const certPem = sign(opts.cn, key, { cert: caCert, key: caKey }, opts, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  return { certPem, keyPem: key.keyPem };
}

/** A self-signed certificate like the ones operators create for OTP encryption. */
export function selfSignedCert(opts: CertOptions): PemPair {
  const key = newRsaKey(opts.keyBits ?? 2048);
  const certPem = sign(opts.cn, key, { cert: null, key: key.forgeKey }, opts, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, dataEncipherment: true },
  ]);
  return { certPem, keyPem: key.keyPem };
}
