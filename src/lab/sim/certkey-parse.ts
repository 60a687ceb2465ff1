// Reads the certificate and key files an `add ssl certKey` names, the way the appliance does:
// PEM (possibly a merged cert+key file, possibly an encrypted key), DER, or PFX. Failures are
// the NITRO errors 1536 (certificate), 1537 (key or passphrase) and 1538 (mismatch).
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { NitroFault } from './nitro-errors.js';

export type Inform = 'PEM' | 'DER' | 'PFX';

export interface ParsedCertKey {
  x509: X509Certificate;
  key?: KeyObject;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

export function parseCertKeyFiles(inform: Inform, certFile: { name: string; content: Buffer }, keyFile: { name: string; content: Buffer } | undefined, passphrase: string | undefined): ParsedCertKey {
  if (inform === 'PFX') return parsePfx(certFile, passphrase);
  const x509 = parseCert(inform, certFile);
  if (!keyFile) return { x509 };
  const key = parseKey(inform, keyFile, passphrase);
  if (key.asymmetricKeyType !== x509.publicKey.asymmetricKeyType || !x509.checkPrivateKey(key)) {
    throw new NitroFault(1538, `${certFile.name}, ${keyFile.name}`);
  }
  return { x509, key };
}

function parseCert(inform: Inform, file: { name: string; content: Buffer }): X509Certificate {
  try {
    if (inform === 'DER') return new X509Certificate(file.content);
    const block = file.content.toString('utf8').match(CERT_BLOCK);
    if (!block) throw new Error('no PEM certificate');
    return new X509Certificate(block[0]);
  } catch {
    throw new NitroFault(1536, file.name);
  }
}

function parseKey(inform: Inform, file: { name: string; content: Buffer }, passphrase: string | undefined): KeyObject {
  try {
    if (inform === 'DER') {
      try {
        return createPrivateKey({ key: file.content, format: 'der', type: 'pkcs1' });
      } catch {
        return createPrivateKey({ key: file.content, format: 'der', type: 'pkcs8' });
      }
    }
    const block = file.content.toString('utf8').match(KEY_BLOCK);
    if (!block) throw new Error('no PEM key');
    const encrypted = /ENCRYPTED/.test(block[0]) || /Proc-Type:\s*4,ENCRYPTED/.test(block[0]);
    if (encrypted && passphrase === undefined) throw new Error('passphrase needed');
    if (encrypted) {
      try {
        return createPrivateKey({ key: block[0], passphrase });
      } catch {
        // The reference's table has its own code for a passphrase that does not open the key.
        throw new NitroFault(1614, file.name);
      }
    }
    return createPrivateKey({ key: block[0] });
  } catch (err) {
    if (err instanceof NitroFault) throw err;
    throw new NitroFault(1537, file.name);
  }
}

function parsePfx(file: { name: string; content: Buffer }, passphrase: string | undefined): ParsedCertKey {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(file.content.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase ?? '');
  } catch (err) {
    // A MAC or decryption failure means the password is wrong; anything else is not a PFX.
    const msg = err instanceof Error ? err.message : String(err);
    const badPassword = /mac|password|decrypt|invalid/i.test(msg) && file.content[0] === 0x30;
    throw new NitroFault(badPassword ? (passphrase === undefined ? 1537 : 1614) : 1536, file.name);
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  const forgeKey = keyBags.find((b) => b.key)?.key;
  if (!forgeKey) throw new NitroFault(1537, file.name);
  const key = createPrivateKey(forge.pki.privateKeyToPem(forgeKey));
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const certs = certBags.flatMap((b) => (b.cert ? [new X509Certificate(forge.pki.certificateToPem(b.cert))] : []));
  if (certs.length === 0) throw new NitroFault(1536, file.name);
  const own = certs.find((c) => c.checkPrivateKey(key));
  if (!own) throw new NitroFault(1538, file.name);
  return { x509: own, key };
}

/** The key as PKCS#1 PEM, the form the OTP key derivation uses. */
export function pkcs1Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}
