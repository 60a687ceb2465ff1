// `sslcertkey`: add (parsing the real files on this node), get, delete.
//
// Faithfulness notes: an appliance loads an expired or not-yet-valid certificate and shows it
// with status "Expired" / "Not yet valid" (operators install expired OTP certificates precisely
// because the cutover is late), so add succeeds; with ?warning=yes the reply is 209 with an
// X-NITRO-WARNING. Errors 1588/1589 are therefore not produced here; the client checks validity
// before any change. GET of a missing certkey is 258 (the generic "no such resource"); DELETE of
// a missing one is 1540 "Certificate does not exist"; the client treats both as absent.
import { createHash } from 'node:crypto';
import type { CertKeyRecord, SimNode } from './appliance-state.js';
import { parseCertKeyFiles, type Inform, type ParsedCertKey } from './certkey-parse.js';
import { SSL_DIR } from './file-store.js';
import { NitroFault, done, type NitroReply } from './nitro-errors.js';
import { payload, str, type NitroRequest } from './nitro-request.js';
import { shapeList } from './query.js';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_#.:@=\- ]{0,126}$/;

function splitPath(path: string): { loc: string; name: string } {
  if (!path.startsWith('/')) return { loc: SSL_DIR, name: path };
  const i = path.lastIndexOf('/');
  return { loc: path.slice(0, i) || '/', name: path.slice(i + 1) };
}

function readFile(node: SimNode, path: string, code: number): { name: string; content: Buffer } {
  const { loc, name } = splitPath(path);
  const f = node.files.get(loc, name);
  if (!f) throw new NitroFault(code, `${path}: No such file or directory`);
  return { name: path, content: f.content };
}

/** Re-reads a certkey's files on `node` (the gateway does this on the node that serves it). */
export function loadCertKey(node: SimNode, rec: CertKeyRecord): ParsedCertKey {
  const cert = readFile(node, rec.cert, 1536);
  const key = rec.key ? readFile(node, rec.key, 1537) : undefined;
  return parseCertKeyFiles(rec.inform, cert, key, rec.passphrase);
}

export function certStatus(rec: CertKeyRecord, now = Date.now()): 'Valid' | 'Not yet valid' | 'Expired' {
  if (now < Date.parse(rec.x509.validFrom)) return 'Not yet valid';
  if (now > Date.parse(rec.x509.validTo)) return 'Expired';
  return 'Valid';
}

function describe(rec: CertKeyRecord): Record<string, unknown> {
  const now = Date.now();
  const notAfter = Date.parse(rec.x509.validTo);
  const selfSigned = rec.x509.subject === rec.x509.issuer;
  return {
    certkey: rec.certkey,
    cert: rec.cert,
    ...(rec.key ? { key: rec.key } : {}),
    inform: rec.inform,
    signaturealg: 'sha256WithRSAEncryption',
    certificatetype: [rec.key ? 'SRVR_CERT' : selfSigned ? 'ROOT_CERT' : 'INTM_CERT'],
    serial: rec.x509.serialNumber,
    issuer: rec.x509.issuer.replace(/\n/g, ', '),
    subject: rec.x509.subject.replace(/\n/g, ', '),
    clientcertnotbefore: rec.x509.validFrom,
    clientcertnotafter: rec.x509.validTo,
    daystoexpiration: Math.max(0, Math.floor((notAfter - now) / 86_400_000)),
    status: certStatus(rec, now),
    publickey: 'RSA',
    publickeysize: rec.x509.publicKey.asymmetricKeyDetails?.modulusLength ?? 0,
    certkeydigest: createHash('sha256').update(rec.x509.raw).digest('hex'),
    expirymonitor: rec.expirymonitor,
    ...(rec.notificationperiod !== undefined ? { notificationperiod: rec.notificationperiod } : {}),
  };
}

export interface CertKeyAddInput {
  certkey: string;
  cert: string;
  key?: string;
  inform?: string;
  passphrase?: string;
  expirymonitor?: string;
  notificationperiod?: number;
}

/** The add itself, shared by NITRO and the preload. Returns a warning text when there is one. */
export function addCertKey(node: SimNode, input: CertKeyAddInput): string | undefined {
  const cfg = node.config;
  if (!NAME_RE.test(input.certkey)) throw new NitroFault(278, `certkey "${input.certkey}" is not a valid name`);
  const inform = (input.inform ?? 'PEM').toUpperCase();
  if (inform !== 'PEM' && inform !== 'DER' && inform !== 'PFX') throw new NitroFault(278, 'inform must be PEM, DER or PFX');
  if (cfg.certkeys.has(input.certkey)) throw new NitroFault(273, `certkey, ${input.certkey}`);
  const keyPath = inform === 'PFX' ? (input.key ?? input.cert) : input.key;
  const parsed = parseCertKeyFiles(
    inform as Inform,
    readFile(node, input.cert, 1536),
    keyPath ? readFile(node, keyPath, 1537) : undefined,
    input.passphrase,
  );
  for (const other of cfg.certkeys.values()) {
    if (other.x509.raw.equals(parsed.x509.raw)) {
      throw new NitroFault(273, `the same certificate is already loaded as certkey "${other.certkey}"`);
    }
  }
  const rec: CertKeyRecord = {
    certkey: input.certkey,
    cert: input.cert,
    ...(keyPath ? { key: keyPath } : {}),
    inform: inform as Inform,
    ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
    x509: parsed.x509,
    expirymonitor: input.expirymonitor?.toUpperCase() === 'ENABLED' ? 'ENABLED' : 'DISABLED',
    ...(input.notificationperiod !== undefined ? { notificationperiod: input.notificationperiod } : {}),
  };
  cfg.certkeys.set(rec.certkey, rec);
  cfg.touch();
  const status = certStatus(rec);
  return status === 'Valid' ? undefined : `Certificate ${rec.certkey} is ${status === 'Expired' ? 'expired' : 'not yet valid'}`;
}

export function handleSslcertkey(req: NitroRequest): NitroReply {
  const cfg = req.node.config;
  switch (req.method) {
    case 'POST': {
      if (req.query.action) throw new NitroFault(278, `action ${req.query.action} is not supported on sslcertkey`);
      const p = payload(req);
      const pass = str(p, 'passplain') ?? (typeof p.password === 'string' ? p.password : undefined);
      const period = p.notificationperiod;
      const warning = addCertKey(req.node, {
        certkey: str(p, 'certkey', true),
        cert: str(p, 'cert', true),
        ...(str(p, 'key') ? { key: str(p, 'key')! } : {}),
        ...(str(p, 'inform') ? { inform: str(p, 'inform')! } : {}),
        ...(pass !== undefined ? { passphrase: pass } : {}),
        ...(str(p, 'expirymonitor') ? { expirymonitor: str(p, 'expirymonitor')! } : {}),
        ...(typeof period === 'number' ? { notificationperiod: period } : {}),
      });
      if (warning && req.query.warning) {
        return { ...done(209), headers: { 'X-NITRO-WARNING': warning } };
      }
      return done(201);
    }
    case 'GET': {
      if (req.name !== undefined) {
        const rec = cfg.certkeys.get(req.name);
        if (!rec) throw new NitroFault(258, `certkey, ${req.name}`);
        return done(200, { sslcertkey: shapeList([describe(rec)], req.query) });
      }
      const items = shapeList([...cfg.certkeys.values()].map(describe), req.query);
      return done(200, items.length > 0 ? { sslcertkey: items } : {});
    }
    case 'DELETE': {
      const name = req.name ?? req.query.args.get('certkey');
      if (!name) throw new NitroFault(278, 'Required argument missing: certkey');
      if (!cfg.certkeys.has(name)) throw new NitroFault(1540, name);
      const bound = cfg.bindings.find((b) => b.certkey === name);
      if (bound) throw new NitroFault(1541, `${name} is bound as vpn global ${bound.kind}`);
      cfg.certkeys.delete(name);
      cfg.touch();
      return done(200);
    }
    default:
      throw new NitroFault(278, `${req.method} is not supported on sslcertkey`);
  }
}
