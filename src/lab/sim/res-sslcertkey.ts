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

/** A file a certkey names; 1647 ("input file not present", from the reference's error table) when it is not there. */
function readFile(node: SimNode, path: string): { name: string; content: Buffer } {
  const { loc, name } = splitPath(path);
  const f = node.files.get(loc, name);
  if (!f) throw new NitroFault(1647, `${path}`);
  return { name: path, content: f.content };
}

/** Re-reads a certkey's files on `node` (the gateway does this on the node that serves it). */
export function loadCertKey(node: SimNode, rec: CertKeyRecord): ParsedCertKey {
  const cert = readFile(node, rec.cert);
  const key = rec.key ? readFile(node, rec.key) : undefined;
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
    ...(rec.linkcertkeyname !== undefined ? { linkcertkeyname: rec.linkcertkeyname } : {}),
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
  const parsed = parseCertKeyFiles(inform, readFile(node, input.cert), keyPath ? readFile(node, keyPath) : undefined, input.passphrase);
  for (const other of cfg.certkeys.values()) {
    if (other.x509.raw.equals(parsed.x509.raw)) {
      throw new NitroFault(273, `the same certificate is already loaded as certkey "${other.certkey}"`);
    }
  }
  const rec: CertKeyRecord = {
    certkey: input.certkey,
    cert: input.cert,
    ...(keyPath ? { key: keyPath } : {}),
    inform: inform,
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
      const action = req.query.action?.toLowerCase();
      if (action === 'update') return updateCertKey(req);
      if (action === 'link') return linkCertKey(req);
      if (action === 'unlink') return unlinkCertKey(req);
      if (action) throw new NitroFault(278, `action ${req.query.action} is not supported on sslcertkey`);
      const p = payload(req);
      const pass = passphraseOf(p);
      const period = notificationPeriod(p);
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
    case 'PUT':
      return setCertKey(req);
    case 'DELETE': {
      const name = req.name ?? req.query.args.get('certkey');
      if (!name) throw new NitroFault(278, 'Required argument missing: certkey');
      if (!cfg.certkeys.has(name)) throw new NitroFault(1540, name);
      const bound = cfg.bindings.find((b) => b.certkey === name);
      if (bound) throw new NitroFault(1541, `${name} is bound as vpn global ${bound.kind}`);
      const linked = [...cfg.certkeys.values()].find((c) => c.linkcertkeyname === name);
      if (linked) throw new NitroFault(1541, `${name} is linked from ${linked.certkey}`);
      cfg.certkeys.delete(name);
      cfg.touch();
      return done(200);
    }
    default:
      throw new NitroFault(278, `${req.method} is not supported on sslcertkey`);
  }
}

/**
 * `password` is a flag ("the key is encrypted"), `passplain` the passphrase (the Go SDK's
 * sslcertkey). A string in `password` is refused rather than read as a passphrase.
 */
function passphraseOf(p: Record<string, unknown>): string | undefined {
  const flag = p.password;
  if (flag !== undefined && typeof flag !== 'boolean' && flag !== 'true' && flag !== 'false') {
    throw new NitroFault(278, 'password is a flag (true when the key is encrypted); give the passphrase in passplain');
  }
  return str(p, 'passplain');
}

/** notificationperiod: days before expiry for the alert, 10–100 (the reference's range). */
function notificationPeriod(p: Record<string, unknown>): number | undefined {
  const v = p.notificationperiod;
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10 || n > 100) throw new NitroFault(278, 'notificationperiod must be 10..100');
  return n;
}

function existing(req: NitroRequest, p: Record<string, unknown>): CertKeyRecord {
  const name = str(p, 'certkey', true);
  const rec = req.node.config.certkeys.get(name);
  if (!rec) throw new NitroFault(1540, name);
  return rec;
}

/** DNS names a certificate is for: its SANs, or the subject CN without any. */
function domainsOf(x509: ParsedCertKey['x509']): string[] {
  const sans = (x509.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4).toLowerCase());
  if (sans.length) return sans;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * `update ssl certKey`: new cert/key files in place under the same certkey name, as renewal
 * tools do. The appliance refuses a certificate for other domains unless `nodomaincheck` is set
 * (the refusal's code is the lab's guess: 278).
 */
function updateCertKey(req: NitroRequest): NitroReply {
  const p = payload(req);
  const rec = existing(req, p);
  const cert = str(p, 'cert', true);
  const inform = (str(p, 'inform') ?? rec.inform).toUpperCase() as Inform;
  if (inform !== 'PEM' && inform !== 'DER' && inform !== 'PFX') throw new NitroFault(278, 'inform must be PEM, DER or PFX');
  const keyPath = inform === 'PFX' ? (str(p, 'key') ?? cert) : (str(p, 'key') ?? rec.key);
  const pass = passphraseOf(p) ?? rec.passphrase;
  const parsed = parseCertKeyFiles(inform, readFile(req.node, cert), keyPath ? readFile(req.node, keyPath) : undefined, pass);
  const noDomainCheck = p.nodomaincheck === true || p.nodomaincheck === 'true';
  if (!noDomainCheck) {
    const before = domainsOf(rec.x509);
    const after = new Set(domainsOf(parsed.x509));
    if (before.length && !before.every((d) => after.has(d))) throw new NitroFault(278, `domain mismatch for ${rec.certkey}: set nodomaincheck to update to a certificate for other names`);
  }
  rec.cert = cert;
  if (keyPath) rec.key = keyPath;
  rec.inform = inform;
  if (pass !== undefined) rec.passphrase = pass;
  rec.x509 = parsed.x509;
  req.node.config.touch();
  return done(200);
}

/** `link ssl certKey`: name the CA certkey that issued this one; it must really be its issuer. */
function linkCertKey(req: NitroRequest): NitroReply {
  const p = payload(req);
  const rec = existing(req, p);
  const caName = str(p, 'linkcertkeyname', true);
  const ca = req.node.config.certkeys.get(caName);
  if (!ca) throw new NitroFault(1540, caName);
  if (!rec.x509.checkIssued(ca.x509) || !rec.x509.verify(ca.x509.publicKey)) {
    throw new NitroFault(278, `${caName} did not issue ${rec.certkey}`);
  }
  rec.linkcertkeyname = caName;
  req.node.config.touch();
  return done(200);
}

function unlinkCertKey(req: NitroRequest): NitroReply {
  const p = payload(req);
  const rec = existing(req, p);
  if (rec.linkcertkeyname === undefined) throw new NitroFault(278, `${rec.certkey} is not linked`);
  delete rec.linkcertkeyname;
  req.node.config.touch();
  return done(200);
}

/** `set ssl certKey`: the monitoring attributes (expirymonitor, notificationperiod). */
function setCertKey(req: NitroRequest): NitroReply {
  const p = payload(req);
  const rec = existing(req, p);
  const period = notificationPeriod(p);
  const monitor = str(p, 'expirymonitor')?.toUpperCase();
  if (monitor !== undefined && monitor !== 'ENABLED' && monitor !== 'DISABLED') throw new NitroFault(278, 'expirymonitor must be ENABLED or DISABLED');
  if (monitor !== undefined) rec.expirymonitor = monitor;
  if (period !== undefined) rec.notificationperiod = period;
  req.node.config.touch();
  return done(200);
}
