// The inventory: what the estate is (appliances, the directory, the certificates, the canary
// users). Validated with zod; file paths are resolved relative to the inventory file.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { secretRefSchema, type SecretRef } from './secret-ref.js';
import { filterProblem } from '../directory/filter.js';
import { ConfigError, fieldName, lineOf, readYaml, validate } from './yaml-source.js';
import { DEFAULT_CONCURRENCY } from '../rekey/defaults.js';

const url = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL (${protocols.join(' or ')})` },
  );

const tlsSchema = z
  .strictObject({
    ca: z.string().optional(),
    fingerprint: z
      .string()
      .regex(/^([0-9A-Fa-f]{2}:?){32}$/, 'expected a SHA-256 fingerprint (64 hex digits)')
      .optional(),
    insecure: z.boolean().optional(),
  })
  .refine((t) => !(t.insecure && (t.ca || t.fingerprint)), { message: 'insecure: true cannot be combined with ca or fingerprint' });

const sftpSchema = z
  .strictObject({
    host: z.string(),
    port: z.number().int().positive().default(22),
    username: z.string(),
    password: secretRefSchema.optional(),
    privateKey: z.string().optional(),
    passphrase: secretRefSchema.optional(),
    hostKeySha256: z.string().min(10, 'pin the SSH host key (SHA-256, base64 or hex)'),
  })
  .refine((s) => s.password || s.privateKey, { message: 'give password or privateKey' });

const applianceSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
    nitro: url(['https:', 'http:']).optional(),
    nodes: z
      .array(url(['https:', 'http:']))
      .min(1)
      .max(2)
      .optional(),
    cluster: z.boolean().default(false),
    username: z.string().min(1),
    password: secretRefSchema,
    auth: z.enum(['session', 'headers']).default('session'),
    tls: tlsSchema.default({}),
    gateway: z.union([url(['https:', 'http:']), z.array(url(['https:', 'http:']))]).optional(),
    gatewayTls: tlsSchema.optional(),
    transport: z.enum(['nitro', 'sftp']).default('nitro'),
    sftp: sftpSchema.optional(),
    timeoutMs: z.number().int().positive().default(30_000),
    /** After a write gets no reply, how long the appliance may still apply it (default: timeoutMs). */
    settleMs: z.number().int().nonnegative().optional(),
  })
  .refine((a) => Boolean(a.nitro) !== Boolean(a.nodes), { message: 'give either nitro: URL (one appliance) or nodes: [URL, URL] (an HA pair)' })
  .refine((a) => a.transport !== 'sftp' || a.sftp, { message: 'transport: sftp needs an sftp: section' });

const serverSchema = z.union([
  url(['ldap:', 'ldaps:']),
  z.strictObject({ name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'), url: url(['ldap:', 'ldaps:']), startTls: z.boolean().optional() }),
]);

/** Where the directory bind password comes from when the inventory gives no directory section. */
export const DEFAULT_DIRECTORY_PASSWORD: SecretRef = { kind: 'env', name: 'ADC_DIRECTORY_PASSWORD', text: '${env:ADC_DIRECTORY_PASSWORD}' };

/** A server's name: given, or host:port of its URL. */
export function serverName(s: string | { name: string }): string {
  if (typeof s !== 'string') return s.name;
  const u = new URL(s);
  return `${u.hostname}:${u.port || (u.protocol === 'ldaps:' ? '636' : '389')}`;
}

const certSchema = z.strictObject({
  cert: z.string(),
  key: z.string().optional(),
  passphrase: secretRefSchema.optional(),
  /** The certkey name on the appliances (known for the old one; chosen by the run for the new one when absent). */
  certkey: z.string().max(31, 'certkey names are at most 31 characters').optional(),
});

const canarySchema = z.strictObject({
  user: z.string().min(1),
  password: secretRefSchema,
  totpSecret: secretRefSchema.optional(),
  flow: z.enum(['auto', 'nfactor', 'classic']).default('auto'),
});

export const inventorySchema = z.strictObject({
  appliances: z.array(applianceSchema).min(1, 'list at least one appliance'),
  // Every field may be left out (the whole section too): what is missing is read from the
  // appliances' LDAP actions when the estate is opened (src/steps/directory-from-actions.ts).
  directory: z
    .strictObject({
      url: url(['ldap:', 'ldaps:']).optional(),
      /** Several directory servers (domain controllers): writes go to one, the unbind guard reads every one. */
      servers: z.array(serverSchema).min(1).optional(),
      /** The server writes go to (a name from servers); default: the first that answers. */
      writeTo: z.string().optional(),
      ca: z.string().optional(),
      startTls: z.boolean().default(false),
      bindDN: z.string().min(1).optional(),
      password: secretRefSchema.default(DEFAULT_DIRECTORY_PASSWORD),
      base: z.string().min(1).optional(),
      filter: z
        .string()
        .superRefine((f, ctx) => {
          const problem = filterProblem(f);
          if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(f)} is ${problem}` });
        })
        .optional(),
      attribute: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an LDAP attribute name')
        .optional(),
      extraAttributes: z.array(z.string()).default([]),
      pageSize: z.number().int().min(1).max(5000).default(500),
      concurrency: z.number().int().min(1).max(64).default(DEFAULT_CONCURRENCY),
    })
    .refine((d) => !(d.url && d.servers), { message: 'give url (one server) or servers (several), not both' })
    .refine((d) => !d.writeTo || (d.servers ?? []).some((x) => serverName(x) === d.writeTo), { message: 'writeTo must name one of servers' })
    .default({ startTls: false, password: DEFAULT_DIRECTORY_PASSWORD, extraAttributes: [], pageSize: 500, concurrency: DEFAULT_CONCURRENCY }),
  certificates: z.strictObject({ old: certSchema, new: certSchema }),
  /** One canary user; or, below, a pool of them. */
  canary: canarySchema.optional(),
  /**
   * A pool of canary users: a gateway refuses a code it has already accepted, so one canary gives
   * one logon per gateway per 30-s TOTP step; each canary in the pool is one more without waiting.
   */
  canaries: z.array(canarySchema).min(1, 'list at least one canary, or leave canaries: out').optional(),
});

type Raw = z.infer<typeof inventorySchema>;
export type ApplianceSpec = Raw['appliances'][number];
export type CertSpec = Raw['certificates']['old'];
/** The directory section as written: any field may be missing until completed from the actions. */
export type DirectoryDraft = Raw['directory'];

export interface DirectoryServer {
  name: string;
  url: string;
  startTls: boolean;
  /** Listed in the inventory, or found only in an appliance's LDAP action. */
  source: 'inventory' | 'action';
}

/** The directory as the run uses it: complete, every server named. `url` is the server writes go to first. */
export interface DirectorySpec extends Omit<DirectoryDraft, 'url' | 'servers' | 'bindDN' | 'base' | 'filter' | 'attribute'> {
  url: string;
  servers: DirectoryServer[];
  bindDN: string;
  base: string;
  filter: string;
  attribute: string;
  /** Fields filled from the appliances' LDAP actions (for the plan). */
  fromActions: string[];
}
export type CanarySpec = z.infer<typeof canarySchema>;
export type TlsSpec = z.infer<typeof tlsSchema>;

export interface Inventory extends Omit<Raw, 'directory'> {
  /** Complete; reading it before the estate completed a partial section throws (naming what is missing). */
  directory: DirectorySpec;
  directoryDraft: DirectoryDraft;
  file: string;
  baseDir: string;
  /** Bad input in a field found only later (by the directory, an appliance): names file, line and field. */
  fieldError(path: (string | number)[], detail: string): ConfigError;
}

export async function loadInventory(file: string): Promise<Inventory> {
  const src = await readYaml(file);
  const raw = validate(src, inventorySchema);
  const baseDir = dirname(resolve(file));
  const abs = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p));
  const names = new Set<string>();
  for (const a of raw.appliances) {
    if (names.has(a.name)) throw new InputError(`${file}: appliance name "${a.name}" is listed twice`);
    names.add(a.name);
    a.tls = { ...a.tls, ca: abs(a.tls.ca) };
    if (a.gatewayTls) a.gatewayTls = { ...a.gatewayTls, ca: abs(a.gatewayTls.ca) };
    if (a.sftp?.privateKey) a.sftp.privateKey = abs(a.sftp.privateKey);
  }
  if (raw.canary && raw.canaries) throw new ConfigError(file, lineOf(src, ['canaries']), 'canaries', 'give canary: (one user) or canaries: (a pool), not both');
  const seen = new Set<string>();
  for (const [i, c] of (raw.canaries ?? []).entries()) {
    if (seen.has(c.user.toLowerCase())) throw new ConfigError(file, lineOf(src, ['canaries', i, 'user']), `canaries[${i}].user`, `canary "${c.user}" is listed twice`);
    seen.add(c.user.toLowerCase());
  }
  raw.directory.ca = abs(raw.directory.ca);
  for (const c of [raw.certificates.old, raw.certificates.new]) {
    c.cert = abs(c.cert)!;
    c.key = abs(c.key);
  }
  const inv = {
    ...raw,
    directoryDraft: raw.directory,
    file: resolve(file),
    baseDir,
    fieldError: (path: (string | number)[], detail: string) => new ConfigError(file, lineOf(src, path), fieldName(path), detail),
  } as unknown as Inventory;
  const complete = completeFromDraft(raw.directory, []);
  if (complete) inv.directory = complete;
  else {
    // Filled in by the estate from the appliances' LDAP actions; until then, say what is missing.
    Object.defineProperty(inv, 'directory', {
      configurable: true,
      enumerable: true,
      get: () => {
        throw new InputError(
          `${file}: the directory section is incomplete (${missingFields(raw.directory).join(', ')}); it is completed from the appliances' LDAP actions when a run opens the estate`,
        );
      },
    });
  }
  return inv;
}

export function missingFields(d: DirectoryDraft): string[] {
  const out: string[] = [];
  if (!d.url && !d.servers) out.push('url or servers');
  if (!d.bindDN) out.push('bindDN');
  if (!d.base) out.push('base');
  if (!d.attribute) out.push('attribute');
  return out;
}

/** The complete directory from a draft and the fields found elsewhere, or undefined while something is missing. */
export function completeFromDraft(d: DirectoryDraft, fromActions: string[]): DirectorySpec | undefined {
  if (missingFields(d).length) return undefined;
  const servers: DirectoryServer[] = d.servers
    ? d.servers.map((x) => ({ name: serverName(x), url: typeof x === 'string' ? x : x.url, startTls: typeof x === 'string' ? d.startTls : (x.startTls ?? d.startTls), source: 'inventory' }))
    : [{ name: serverName(d.url!), url: d.url!, startTls: d.startTls, source: 'inventory' }];
  const first = servers.find((x) => x.name === d.writeTo) ?? servers[0];
  return {
    ...d,
    url: first.url,
    servers,
    bindDN: d.bindDN!,
    base: d.base!,
    filter: d.filter ?? '(objectClass=user)',
    attribute: d.attribute!,
    fromActions,
  };
}

/** Put the completed directory in place (the estate does this once it has read the actions). */
export function setDirectory(inv: Inventory, spec: DirectorySpec): void {
  Object.defineProperty(inv, 'directory', { configurable: true, enumerable: true, writable: true, value: spec });
}

/** The canary pool, whichever form the inventory used; empty when it names none. */
export function canariesOf(inv: Pick<Raw, 'canary' | 'canaries'>): CanarySpec[] {
  return inv.canaries ?? (inv.canary ? [inv.canary] : []);
}

export function gatewaysOf(a: ApplianceSpec): string[] {
  return a.gateway === undefined ? [] : Array.isArray(a.gateway) ? a.gateway : [a.gateway];
}

export function nodesOf(a: ApplianceSpec): string[] {
  return a.nodes ?? (a.nitro ? [a.nitro] : []);
}

export type { SecretRef };
