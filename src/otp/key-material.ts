// Load an OTP encryption certificate and its RSA private key from the forms operators have:
// separate PEM files, one "merged" PEM, or PKCS#12 (.pfx/.p12), with encrypted keys. Proves the
// pair matches and derives the AES key once, so the bulk work never touches the RSA key again.
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
// node-forge is loaded only for a PKCS#12 file: it is large, and PEM needs only node:crypto, so
// every other command starts without it.
import type forgeTypes from 'node-forge';
import { InputError, errorMessage } from '../errors.js';
import { deriveKey, kidOf } from './crypto.js';
import { KeyPassphraseError } from './errors.js';
import { toB64Url } from './encoding.js';

export interface OtpCertificateInfo {
  /** SHA-1 of the certificate DER: the KID that names it inside attribute values. */
  kid: Buffer;
  /** The KID as it appears in attribute values (URL-safe base64, padded). */
  kidText: string;
  certDer: Buffer;
  certPem: string;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  sha1Hex: string;
  sha256Hex: string;
  publicKeyBits: number;
}

export interface OtpKeyMaterial extends OtpCertificateInfo {
  /** The derived AES-256 key. Secret: never log or serialise it. */
  aesKey: Buffer;
}

export interface LoadOptions {
  /** PEM certificate, merged PEM (certificate + key), or a .pfx/.p12 file. */
  cert: string;
  /** A separate PEM key file, when the certificate file holds no key. */
  key?: string;
  passphrase?: string;
  /** Accept an expired or not-yet-valid certificate (reading values written under an old one). */
  allowExpired?: boolean;
  now?: Date;
  /** The options as the operator typed them, for the messages (otptool speaks the vendor's). */
  flags?: KeyFlagNames;
}

export interface KeyFlagNames {
  key: string;
  passphraseEnv: string;
}

const LONG_FLAGS: KeyFlagNames = { key: '--key', passphraseEnv: '--passphrase-env' };

export async function loadKeyMaterial(opts: LoadOptions): Promise<OtpKeyMaterial> {
  const certBytes = await readInput(opts.cert, 'certificate');
  const flags = opts.flags ?? LONG_FLAGS;
  if (isPkcs12(opts.cert, certBytes)) {
    if (opts.key) throw new InputError(`${opts.cert}: a PKCS#12 file holds its own key; do not also give ${flags.key} ${opts.key}`);
    const { certPem, key } = await fromPkcs12(opts.cert, certBytes, opts.passphrase, flags);
    return build(certPem, key, opts.cert, opts);
  }
  const certText = certBytes.toString('utf8');
  const certPem = firstPemBlock(certText, 'CERTIFICATE');
  if (!certPem) throw new InputError(`${opts.cert}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----, or a .pfx/.p12 file)`);
  const keySource = opts.key ?? opts.cert;
  const keyText = opts.key ? (await readInput(opts.key, 'key')).toString('utf8') : certText;
  const keyPem = firstPrivateKeyBlock(keyText);
  if (!keyPem) {
    throw new InputError(opts.key ? `${opts.key}: no PEM private key found` : `${opts.cert}: holds a certificate but no private key; give the key with ${flags.key} (or a merged PEM / .pfx)`);
  }
  return build(certPem, parsePrivateKey(keyPem, keySource, opts.passphrase, flags), opts.cert, opts);
}

/** For key material already in memory (the lab, tests, the simulator). */
export function keyMaterialFromPem(certPem: string, keyPem: string, opts: { allowExpired?: boolean; passphrase?: string; now?: Date } = {}): OtpKeyMaterial {
  return build(certPem, parsePrivateKey(keyPem, 'key', opts.passphrase, LONG_FLAGS), 'certificate', opts);
}

/** Certificate facts without a key: for comparing with what an appliance reports. */
export function certificateInfo(certPem: string, label = 'certificate'): OtpCertificateInfo {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw new InputError(`${label}: not a valid X.509 certificate (${errorMessage(err)})`);
  }
  const certDer = x509.raw;
  const kid = kidOf(certDer);
  const keyDetails = x509.publicKey.asymmetricKeyDetails;
  return {
    kid,
    kidText: toB64Url(kid),
    certDer,
    certPem: x509.toString(),
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    serial: x509.serialNumber,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    sha1Hex: kid.toString('hex'),
    sha256Hex: createHash('sha256').update(certDer).digest('hex'),
    publicKeyBits: keyDetails?.modulusLength ?? 0,
  };
}

function build(certPem: string, key: KeyObject, label: string, opts: { allowExpired?: boolean; now?: Date }): OtpKeyMaterial {
  const info = certificateInfo(certPem, label);
  const x509 = new X509Certificate(certPem);
  if (x509.publicKey.asymmetricKeyType !== 'rsa') {
    throw new InputError(`${label}: the certificate's key is ${x509.publicKey.asymmetricKeyType}, not RSA; NetScaler OTP encryption needs an RSA certificate`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new InputError(`${label}: the private key is ${key.asymmetricKeyType}, not RSA; NetScaler OTP encryption needs an RSA key`);
  }
  if (!x509.checkPrivateKey(key)) {
    throw new InputError(`${label}: the private key does not match the certificate (${info.subject}, KID ${info.kidText})`);
  }
  const now = opts.now ?? new Date();
  if (!opts.allowExpired) {
    if (now < info.notBefore) throw new InputError(`${label}: certificate ${info.subject} is not valid before ${info.notBefore.toISOString()}`);
    if (now > info.notAfter) throw new InputError(`${label}: certificate ${info.subject} expired on ${info.notAfter.toISOString()}`);
  }
  const pkcs1 = key.export({ type: 'pkcs1', format: 'der' });
  return { ...info, aesKey: deriveKey(pkcs1, info.certDer) };
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read the ${what} file (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
}

function isPkcs12(path: string, bytes: Buffer): boolean {
  if (/\.(pfx|p12)$/i.test(path)) return true;
  // A DER SEQUENCE that is not PEM text: treat it as PKCS#12 rather than failing on "no PEM".
  return bytes[0] === 0x30 && !bytes.includes(Buffer.from('-----BEGIN'));
}

function firstPemBlock(text: string, label: string): string | undefined {
  const m = text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`));
  return m?.[0];
}

function firstPrivateKeyBlock(text: string): string | undefined {
  const m = text.match(/-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/);
  return m?.[0];
}

function parsePrivateKey(pem: string, label: string, passphrase: string | undefined, flags: KeyFlagNames): KeyObject {
  const encrypted = /ENCRYPTED/.test(pem);
  if (encrypted && passphrase === undefined) {
    throw new KeyPassphraseError(`${label}: the private key is encrypted; give its passphrase with ${flags.passphraseEnv} VAR (or at the prompt)`);
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, passphrase } : { key: pem });
  } catch (err) {
    if (encrypted) throw new KeyPassphraseError(`${label}: cannot decrypt the private key: wrong passphrase?`);
    throw new InputError(`${label}: not a usable private key (${errorMessage(err)})`);
  }
}

async function fromPkcs12(path: string, bytes: Buffer, passphrase: string | undefined, flags: KeyFlagNames): Promise<{ certPem: string; key: KeyObject }> {
  const forge = (await import('node-forge')).default;
  let p12: forgeTypes.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase ?? '');
  } catch (err) {
    const msg = errorMessage(err);
    // node-forge says a PKCS#12 MAC or decryption failed only in its words (its errors have no
    // code or class of their own): the one third-party message read here.
    if (/mac|password|decrypt/i.test(msg)) {
      throw new KeyPassphraseError(`${path}: cannot open the PKCS#12 file: wrong passphrase?${passphrase === undefined ? ` (none given: use ${flags.passphraseEnv} VAR)` : ''}`);
    }
    throw new InputError(`${path}: not a readable PKCS#12 file (${msg})`);
  }
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  const keyBag = keyBags.find((b) => b.key);
  if (!keyBag?.key) throw new InputError(`${path}: the PKCS#12 file holds no RSA private key (or one node-forge cannot read, e.g. EC)`);
  const key = createPrivateKey(forge.pki.privateKeyToPem(keyBag.key));
  // Pick the certificate that belongs to the key, not a chain certificate that happens to come first.
  for (const bag of certBags) {
    if (!bag.cert) continue;
    const pem = forge.pki.certificateToPem(bag.cert);
    if (new X509Certificate(pem).checkPrivateKey(key)) return { certPem: pem, key };
  }
  throw new InputError(`${path}: the PKCS#12 file holds no certificate matching its private key`);
}
