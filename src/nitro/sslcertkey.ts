// `sslcertkey`: the certificate+key pairs. Nothing from the appliance is trusted by name alone:
// a certkey is accepted only when its serial, subject, issuer, validity and key size (and the
// digest, where the build reports one) match the local certificate.
import { X509Certificate, createHash } from 'node:crypto';
import { AdcError, InputError } from '../errors.js';
import type { NitroClient } from './client.js';
import { NITRO_CODE, NitroError, NitroOutcomeUnknownError } from './errors.js';
import { NitroReplyShapeError, optionalNumber, optionalString } from './reply-shape.js';
import { awaitChange } from './settle.js';
import { listUserDataEncryptionKeys } from './otp-binding.js';

export type CertInform = 'PEM' | 'DER' | 'PFX';

/** What the appliance reports about a certkey. */
export interface CertkeyInfo {
  certkey: string;
  cert: string | undefined;
  key: string | undefined;
  inform: string | undefined;
  serial: string | undefined;
  subject: string | undefined;
  issuer: string | undefined;
  notBefore: Date | undefined;
  notAfter: Date | undefined;
  daysToExpiration: number | undefined;
  status: string | undefined;
  publicKeySize: number | undefined;
  certkeydigest: string | undefined;
}

/** The local certificate's facts, to compare with a certkey. */
export interface LocalCertFacts {
  serialHex: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  publicKeyBits: number | undefined;
  sha256Hex: string;
  sha1Hex: string;
  md5Hex: string;
}

export function certFactsFromCert(cert: string | Buffer): LocalCertFacts {
  const x = new X509Certificate(cert);
  const bits = x.publicKey.asymmetricKeyDetails?.modulusLength;
  return {
    serialHex: x.serialNumber,
    subject: x.subject,
    issuer: x.issuer,
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    publicKeyBits: bits,
    sha256Hex: createHash('sha256').update(x.raw).digest('hex'),
    sha1Hex: createHash('sha1').update(x.raw).digest('hex'),
    md5Hex: createHash('md5').update(x.raw).digest('hex'),
  };
}

function str(v: unknown): string | undefined {
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function date(v: unknown): Date | undefined {
  const s = str(v);
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function num(v: unknown): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A certkey row. Every certificate comparison reads it, so the name must be a string and the
 * fields compared, where present, of the types the reference gives (strings; numbers or digit
 * strings for sizes and days). Fields we do not compare are not looked at.
 */
export function toCertkeyInfo(rec: Record<string, unknown>, appliance = 'appliance'): CertkeyInfo {
  const r = 'sslcertkey';
  const name = optionalString(appliance, r, rec, 'certkey');
  if (name === undefined) throw new NitroReplyShapeError(appliance, r, 'a row has no certkey name', rec);
  for (const f of ['cert', 'key', 'inform', 'serial', 'subject', 'issuer', 'clientcertnotbefore', 'clientcertnotafter', 'status', 'certkeydigest']) {
    optionalString(appliance, r, rec, f);
  }
  optionalNumber(appliance, r, rec, 'daystoexpiration');
  optionalNumber(appliance, r, rec, 'publickeysize');
  return {
    certkey: name,
    cert: str(rec.cert),
    key: str(rec.key),
    inform: str(rec.inform),
    serial: str(rec.serial),
    subject: str(rec.subject),
    issuer: str(rec.issuer),
    notBefore: date(rec.clientcertnotbefore),
    notAfter: date(rec.clientcertnotafter),
    daysToExpiration: num(rec.daystoexpiration),
    status: str(rec.status),
    publicKeySize: num(rec.publickeysize),
    certkeydigest: str(rec.certkeydigest),
  };
}

export async function getCertkey(client: NitroClient, name: string): Promise<CertkeyInfo | undefined> {
  const list = await client.getList<Record<string, unknown>>('sslcertkey', name);
  if (!list?.length) return undefined;
  const infos = list.map((r) => toCertkeyInfo(r, client.appliance));
  // Asked by name, the reply is about that certkey: a row of another name is not a match.
  const info = infos.find((i) => i.certkey === name);
  if (!info) throw new NitroReplyShapeError(client.appliance, `sslcertkey/${name}`, 'the reply to a GET by name carries no row of that name', list);
  return info;
}

export async function listCertkeys(client: NitroClient): Promise<CertkeyInfo[]> {
  return ((await client.getList<Record<string, unknown>>('sslcertkey')) ?? []).map((r) => toCertkeyInfo(r, client.appliance));
}

function normSerial(s: string): string {
  return s.replace(/[:\s]/g, '').replace(/^0+/, '').toLowerCase();
}

function normHex(s: string): string {
  return s.replace(/[:\s]/g, '').toLowerCase();
}

/** Distinguished names as a sorted set of `key=value`, whatever the separator style. */
export function normDn(dn: string): string {
  return dn
    .split(/\n|,\s*(?=[A-Za-z][A-Za-z0-9.]*\s*=)|\/(?=[A-Za-z]+=)/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return `${p.slice(0, i).trim().toLowerCase()}=${p.slice(i + 1).trim()}`;
    })
    .sort()
    .join(',');
}

/** Differences between a certkey and the local certificate; empty means the same certificate. */
export function compareCertkey(info: CertkeyInfo, local: LocalCertFacts): string[] {
  const diffs: string[] = [];
  if (info.serial === undefined) diffs.push('appliance reports no serial');
  else if (normSerial(info.serial) !== normSerial(local.serialHex)) diffs.push(`serial ${info.serial} ≠ local ${local.serialHex}`);
  if (info.subject !== undefined && normDn(info.subject) !== normDn(local.subject)) diffs.push(`subject "${info.subject}" ≠ local "${local.subject.replace(/\n/g, ', ')}"`);
  if (info.issuer !== undefined && normDn(info.issuer) !== normDn(local.issuer)) diffs.push(`issuer "${info.issuer}" ≠ local "${local.issuer.replace(/\n/g, ', ')}"`);
  const near = (a: Date, b: Date): boolean => Math.abs(a.getTime() - b.getTime()) < 2000;
  if (info.notBefore && !near(info.notBefore, local.notBefore)) diffs.push(`not before ${info.notBefore.toISOString()} ≠ local ${local.notBefore.toISOString()}`);
  if (info.notAfter && !near(info.notAfter, local.notAfter)) diffs.push(`not after ${info.notAfter.toISOString()} ≠ local ${local.notAfter.toISOString()}`);
  if (info.publicKeySize !== undefined && local.publicKeyBits !== undefined && info.publicKeySize !== local.publicKeyBits) {
    diffs.push(`public key ${info.publicKeySize} bits ≠ local ${local.publicKeyBits}`);
  }
  if (info.certkeydigest !== undefined) {
    const d = normHex(info.certkeydigest);
    // Only judge digests we can recognise by length; an unknown format is not a mismatch.
    if ([32, 40, 64].includes(d.length) && ![local.md5Hex, local.sha1Hex, local.sha256Hex].includes(d)) {
      diffs.push(`certkeydigest ${info.certkeydigest} matches no digest of the local certificate`);
    }
  }
  return diffs;
}

/** Refuse a certificate outside its validity before anything is changed on any appliance. */
export function assertCurrentlyValid(local: LocalCertFacts, label: string, now: Date = new Date()): void {
  if (now < local.notBefore) throw new InputError(`${label}: certificate is not valid until ${local.notBefore.toISOString()}`);
  if (now > local.notAfter) throw new InputError(`${label}: certificate expired on ${local.notAfter.toISOString()}`);
}

export interface AddCertkeyInput {
  certkey: string;
  /** File name under /nsconfig/ssl (for PFX the same file as `key`). */
  cert: string;
  key?: string;
  inform: CertInform;
  /** Key / PFX passphrase; sent as `passplain`, never logged or recorded. */
  passphrase?: string;
  expiryMonitor?: { notificationPeriodDays: number };
}

/** Raw `add ssl certKey`; most callers want `ensureCertkey`. */
export async function addCertkey(client: NitroClient, input: AddCertkeyInput): Promise<void> {
  const body: Record<string, unknown> = { certkey: input.certkey, cert: input.cert, inform: input.inform };
  if (input.inform === 'PFX') body.key = input.key ?? input.cert;
  else if (input.key !== undefined) body.key = input.key;
  if (input.passphrase !== undefined) {
    body.passplain = input.passphrase;
    body.password = true;
  }
  if (input.expiryMonitor) {
    body.expirymonitor = 'ENABLED';
    body.notificationperiod = input.expiryMonitor.notificationPeriodDays;
  }
  await client.request({ method: 'POST', resource: 'sslcertkey', body: { sslcertkey: body } });
}

export class CertkeyMismatchError extends AdcError {
  constructor(
    readonly appliance: string,
    readonly certkey: string,
    readonly differences: string[],
    /** True when this run created the certkey (the caller must roll it back). */
    readonly created: boolean,
  ) {
    super(`${appliance}: certkey ${certkey} does not hold the local certificate: ${differences.join('; ')}`);
  }
}

export interface EnsureCertkeyResult {
  /** The certkey that holds the certificate: ours, or an adopted one with another name. */
  certkey: string;
  /** True only when this call created it (the only case rollback may delete it). */
  created: boolean;
  adopted: boolean;
  info: CertkeyInfo;
}

/**
 * Certkey names a 273 reply may carry: quoted (`… already loaded as certkey "name"`), or a bare
 * token in brackets / after "certkey" (`Resource already exists [name]`).
 */
export function namesInMessage(message: string): string[] {
  const out: string[] = [];
  for (const m of message.matchAll(/"([^"]+)"|'([^']+)'/g)) out.push(m[1] ?? m[2]);
  for (const m of message.matchAll(/\[([^\]\s"']+)\]|certkey(?: name)?[:,]?\s+([A-Za-z0-9_][A-Za-z0-9_#.:@=-]*)/gi)) {
    out.push(m[1] ?? m[2]);
  }
  return [...new Set(out.map((n) => n.trim()).filter(Boolean))];
}

/**
 * Make sure a certkey holding the local certificate exists and return it. Adopts an existing
 * certkey with the same certificate (by name, or the one a 273 reply names) instead of failing;
 * refuses an expired or not-yet-valid certificate before sending anything; verifies by reading
 * back. A certkey of the wanted name holding another certificate is an error, never replaced.
 */
export async function ensureCertkey(client: NitroClient, input: AddCertkeyInput & { local: LocalCertFacts; now?: Date }): Promise<EnsureCertkeyResult> {
  assertCurrentlyValid(input.local, `${client.appliance}: certkey ${input.certkey}`, input.now);
  const existing = await getCertkey(client, input.certkey);
  if (existing) {
    const diffs = compareCertkey(existing, input.local);
    if (diffs.length) throw new CertkeyMismatchError(client.appliance, input.certkey, diffs, false);
    return { certkey: input.certkey, created: false, adopted: true, info: existing };
  }
  try {
    await addCertkey(client, input);
  } catch (err) {
    if (err instanceof NitroOutcomeUnknownError) {
      const now = await awaitChange(
        err,
        `certkey ${input.certkey}`,
        () => getCertkey(client, input.certkey),
        (c): c is CertkeyInfo => c !== undefined,
      );
      return verifyCreated(client, input.certkey, now, input.local);
    }
    if (err instanceof NitroError && err.hasCode(NITRO_CODE.alreadyExists)) {
      const adopted = await findSameCertificate(client, err.nitroMessage, input.local);
      if (adopted) return { certkey: adopted.certkey, created: false, adopted: true, info: adopted };
      throw new AdcError(`${client.appliance}: add certkey ${input.certkey} refused (${NITRO_CODE.alreadyExists}: ${err.nitroMessage}) and no existing certkey holds the same certificate`, undefined, {
        cause: err,
      });
    }
    throw err;
  }
  const info = await getCertkey(client, input.certkey);
  if (!info) throw new AdcError(`${client.appliance}: certkey ${input.certkey} was added but cannot be read back`);
  return verifyCreated(client, input.certkey, info, input.local);
}

function verifyCreated(client: NitroClient, name: string, info: CertkeyInfo, local: LocalCertFacts): EnsureCertkeyResult {
  const diffs = compareCertkey(info, local);
  if (diffs.length) throw new CertkeyMismatchError(client.appliance, name, diffs, true);
  return { certkey: name, created: true, adopted: false, info };
}

async function findSameCertificate(client: NitroClient, message: string, local: LocalCertFacts): Promise<CertkeyInfo | undefined> {
  for (const name of namesInMessage(message)) {
    const info = await getCertkey(client, name);
    if (info && compareCertkey(info, local).length === 0) return info;
  }
  // The message did not name it (older builds): look through every certkey.
  return (await listCertkeys(client)).find((c) => compareCertkey(c, local).length === 0);
}

export interface DeleteCertkeyOptions {
  /** The caller's journal says this run created it. Anything else is never deleted. */
  createdByThisRun: boolean;
}

/**
 * Delete a certkey this run created, only when nothing binds it (the vpn global OTP binding is
 * checked explicitly because `sslcertkey_binding` does not show it). Returns false when absent.
 */
export async function deleteCertkey(client: NitroClient, name: string, opts: DeleteCertkeyOptions): Promise<boolean> {
  if (!opts.createdByThisRun) {
    throw new AdcError(`${client.appliance}: refusing to delete certkey ${name}: this run did not create it`);
  }
  if ((await listUserDataEncryptionKeys(client)).includes(name)) {
    throw new AdcError(`${client.appliance}: certkey ${name} is still bound as userDataEncryptionKey; unbind it first`);
  }
  try {
    await client.request({ method: 'DELETE', resource: 'sslcertkey', name });
    return true;
  } catch (err) {
    if (err instanceof NitroError && err.hasCode(NITRO_CODE.noSuchResource, NITRO_CODE.certificateAbsent)) return false;
    if (err instanceof NitroOutcomeUnknownError) {
      await awaitChange(
        err,
        `the removal of certkey ${name}`,
        () => getCertkey(client, name),
        (now) => now === undefined,
      );
      return true;
    }
    if (err instanceof NitroError && err.hasCode(NITRO_CODE.certificateReferenced)) {
      throw new AdcError(`${client.appliance}: certkey ${name} is referenced by another binding (${NITRO_CODE.certificateReferenced}); kept`, undefined, { cause: err });
    }
    throw err;
  }
}
