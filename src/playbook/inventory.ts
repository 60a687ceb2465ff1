// The inventory: what the estate is (appliances, the directory, the certificates, the canary
// users). Validated with zod; file paths are resolved relative to the inventory file.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { secretRefSchema, type SecretRef } from './secret-ref.js';
import { filterProblem } from '../directory/filter.js';
import { ConfigError, fieldName, lineOf, readYaml, validate } from './yaml-source.js';

const url = (protocols: string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, { message: `expected a URL (${protocols.join(' or ')})` });

const tlsSchema = z.strictObject({
  ca: z.string().optional(),
  fingerprint: z.string().regex(/^([0-9A-Fa-f]{2}:?){32}$/, 'expected a SHA-256 fingerprint (64 hex digits)').optional(),
  insecure: z.boolean().optional(),
}).refine((t) => !(t.insecure && (t.ca || t.fingerprint)), { message: 'insecure: true cannot be combined with ca or fingerprint' });

const sftpSchema = z.strictObject({
  host: z.string(),
  port: z.number().int().positive().default(22),
  username: z.string(),
  password: secretRefSchema.optional(),
  privateKey: z.string().optional(),
  passphrase: secretRefSchema.optional(),
  hostKeySha256: z.string().min(10, 'pin the SSH host key (SHA-256, base64 or hex)'),
}).refine((s) => s.password || s.privateKey, { message: 'give password or privateKey' });

const applianceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
  nitro: url(['https:', 'http:']).optional(),
  nodes: z.array(url(['https:', 'http:'])).min(1).max(2).optional(),
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
}).refine((a) => Boolean(a.nitro) !== Boolean(a.nodes), { message: 'give either nitro: URL (one appliance) or nodes: [URL, URL] (an HA pair)' })
  .refine((a) => a.transport !== 'sftp' || a.sftp, { message: 'transport: sftp needs an sftp: section' });

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
  directory: z.strictObject({
    url: url(['ldap:', 'ldaps:']),
    ca: z.string().optional(),
    startTls: z.boolean().default(false),
    bindDN: z.string().min(1),
    password: secretRefSchema,
    base: z.string().min(1),
    filter: z.string().default('(objectClass=user)').superRefine((f, ctx) => {
      const problem = filterProblem(f);
      if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(f)} is ${problem}` });
    }),
    attribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an LDAP attribute name'),
    extraAttributes: z.array(z.string()).default([]),
    pageSize: z.number().int().min(1).max(5000).default(500),
    concurrency: z.number().int().min(1).max(64).default(8),
  }),
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
export type DirectorySpec = Raw['directory'];
export type CanarySpec = z.infer<typeof canarySchema>;
export type TlsSpec = z.infer<typeof tlsSchema>;

export interface Inventory extends Raw {
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
  return { ...raw, file: resolve(file), baseDir, fieldError: (path, detail) => new ConfigError(file, lineOf(src, path), fieldName(path), detail) };
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
