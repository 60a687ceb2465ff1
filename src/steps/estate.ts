// The estate a run works on, opened from the inventory: NITRO clients and file transports per
// appliance, both certificates' key material, the directory, the gateways, the canary. Secrets
// are resolved here, registered for redaction, and kept in memory only.
import { readFile } from 'node:fs/promises';
import { connect, type DirectoryClient } from '../directory/index.js';
import { InputError } from '../errors.js';
import type { GatewayTlsOptions } from '../gateway/index.js';
import { NitroClient, type HaTarget, type NitroTlsOptions } from '../nitro/index.js';
import { loadKeyMaterial, type OtpKeyMaterial } from '../otp/index.js';
import { canariesOf, gatewaysOf, missingFields, nodesOf, setDirectory, type ApplianceSpec, type CertSpec, type DirectoryServer, type Inventory, type TlsSpec } from '../playbook/inventory.js';
import { completeDirectory, readAllActions, unlistedServers, type ApplianceActions } from './directory-from-actions.js';
import { resolveSecret, type SecretRef } from '../playbook/secret-ref.js';
import { registerSecret } from '../runner/redact.js';
import { NitroFileTransport, SftpTransport, type FileTransport } from '../transfer/index.js';

export interface ApplianceHandle {
  name: string;
  spec: ApplianceSpec;
  client: NitroClient;
  transport: FileTransport;
  gateways: string[];
  gatewayTls: GatewayTlsOptions;
  /** Filled by preflight: where writes go, HA facts. */
  target?: HaTarget;
  warnings: string[];
}

export interface CertHandle {
  spec: CertSpec;
  km: OtpKeyMaterial;
  certBytes: Buffer;
  keyBytes?: Buffer;
  passphrase?: string;
  inform: 'PEM' | 'PFX';
}

export interface Estate {
  inventory: Inventory;
  dryRun: boolean;
  appliances: ApplianceHandle[];
  certs: { old: CertHandle; new: CertHandle };
  /** A connection to the server writes go to: writeTo, or the first listed that answers. */
  directory: () => Promise<DirectoryClient>;
  /** A connection to one server (the unbind guard reads every one). */
  connectServer: (server: DirectoryServer) => Promise<DirectoryClient>;
  /** The appliances' LDAP actions, read once (src/steps/directory-from-actions.ts). */
  ldapActions: () => Promise<ApplianceActions[]>;
  /** Every server the appliances use: the inventory's, and any their actions name besides. */
  guardServers: () => Promise<DirectoryServer[]>;
  directoryPassword: string;
  directoryCaPem?: string;
  /** The first of the pool (undefined when the inventory names no canary). */
  canary?: Canary;
  /** Every canary the inventory names, in its order; a logon check takes one not used this TOTP step. */
  canaries: Canary[];
  close(): Promise<void>;
}

export interface Canary {
  user: string;
  /** Secret. */
  password: string;
  /** Secret (Base32); absent: the code comes from the canary's directory value. */
  totpSecret?: string;
  flow: 'auto' | 'nfactor' | 'classic';
}

export async function openEstate(inv: Inventory, opts: { dryRun: boolean }): Promise<Estate> {
  const secret = async (ref: SecretRef | undefined) => {
    if (!ref) return undefined;
    const v = await resolveSecret(ref, inv.baseDir);
    registerSecret(v);
    return v;
  };
  const certs = {
    // The old certificate may already have expired: that is often why it is being replaced.
    old: await loadCert(inv.certificates.old, await secret(inv.certificates.old.passphrase), true, 'certificates.old'),
    new: await loadCert(inv.certificates.new, await secret(inv.certificates.new.passphrase), false, 'certificates.new'),
  };
  if (certs.old.km.kid.equals(certs.new.km.kid)) {
    throw new InputError(`${inv.file}: certificates.old and certificates.new are the same certificate (KID ${certs.new.km.kidText})`);
  }
  const appliances: ApplianceHandle[] = [];
  for (const spec of inv.appliances) {
    const password = (await secret(spec.password))!;
    const tls = await tlsOf(spec.tls);
    const client = new NitroClient({
      appliance: spec.name,
      nodes: nodesOf(spec),
      credentials: { username: spec.username, password },
      auth: spec.auth,
      tls,
      timeoutMs: spec.timeoutMs,
      ...(spec.settleMs !== undefined ? { settleMs: spec.settleMs } : {}),
      dryRun: opts.dryRun,
    });
    const transport: FileTransport =
      spec.transport === 'sftp' && spec.sftp
        ? await SftpTransport.connect({
            host: spec.sftp.host,
            port: spec.sftp.port,
            username: spec.sftp.username,
            hostKeySha256: spec.sftp.hostKeySha256,
            password: await secret(spec.sftp.password),
            privateKey: spec.sftp.privateKey ? await readFile(spec.sftp.privateKey) : undefined,
            passphrase: await secret(spec.sftp.passphrase),
            dryRun: opts.dryRun,
          })
        : new NitroFileTransport(client);
    const gwTls = spec.gatewayTls ? await tlsOf(spec.gatewayTls) : tls;
    appliances.push({
      name: spec.name,
      spec,
      client,
      transport,
      gateways: gatewaysOf(spec),
      gatewayTls: { caPem: gwTls.caPem, fingerprintSha256: gwTls.fingerprintSha256, insecure: gwTls.insecure },
      warnings: spec.tls.insecure ? [`${spec.name}: TLS verification is OFF (insecure: true in the inventory)`] : [],
    });
  }
  let actions: Promise<ApplianceActions[]> | undefined;
  const ldapActions = () => (actions ??= readAllActions(appliances));
  // A directory section that leaves fields out is completed from the appliances' LDAP actions.
  if (missingFields(inv.directoryDraft).length) setDirectory(inv, completeDirectory(inv, await ldapActions()));
  const dir = inv.directory;
  const directoryPassword = (await secret(dir.password))!;
  const directoryCaPem = dir.ca ? await readText(dir.ca, 'directory.ca') : undefined;
  const canaries: Canary[] = [];
  for (const c of canariesOf(inv)) {
    canaries.push({ user: c.user, password: (await secret(c.password))!, totpSecret: await secret(c.totpSecret), flow: c.flow });
  }
  const open: DirectoryClient[] = [];
  const connectServer = async (server: DirectoryServer) => {
    const c = await connect({ url: server.url, bindDN: dir.bindDN, password: directoryPassword, caPem: directoryCaPem, startTls: server.startTls, dryRun: opts.dryRun });
    open.push(c);
    return c;
  };
  return {
    inventory: inv,
    dryRun: opts.dryRun,
    appliances,
    certs,
    directoryPassword,
    directoryCaPem,
    canary: canaries[0],
    canaries,
    directory: () => connectForWrites(dir, connectServer),
    connectServer,
    ldapActions,
    guardServers: async () => [...dir.servers, ...unlistedServers(dir, await ldapActions()).map((u) => u.server)],
    close: async () => {
      for (const a of appliances) {
        await a.client.logout().catch(() => undefined);
        a.client.close();
        await a.transport.close().catch(() => undefined);
      }
      for (const c of open) await c.close().catch(() => undefined);
    },
  };
}

/**
 * The server writes go to. A named writeTo is the only one tried: falling back to another would
 * write where the operator said not to, and the replicas would then disagree on which server
 * leads. Without one, the first listed server that answers; when none does, the last error.
 */
export async function connectForWrites(
  dir: { servers: DirectoryServer[]; writeTo?: string | undefined },
  connectServer: (server: DirectoryServer) => Promise<DirectoryClient>,
): Promise<DirectoryClient> {
  const order = dir.writeTo ? dir.servers.filter((x) => x.name === dir.writeTo) : dir.servers;
  if (order.length === 0) throw new InputError(dir.writeTo ? `directory.writeTo ${dir.writeTo} names no listed server` : 'the directory lists no server');
  let last: unknown;
  for (const server of order) {
    try {
      return await connectServer(server);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

async function loadCert(spec: CertSpec, passphrase: string | undefined, allowExpired: boolean, label: string): Promise<CertHandle> {
  const km = await loadKeyMaterial({ cert: spec.cert, key: spec.key, passphrase, allowExpired }).catch((err: Error) => {
    throw new InputError(`${label}: ${err.message}`);
  });
  const certBytes = await readFile(spec.cert);
  const isPfx = /\.(pfx|p12)$/i.test(spec.cert) || (certBytes[0] === 0x30 && !certBytes.includes(Buffer.from('-----BEGIN')));
  return { spec, km, certBytes, keyBytes: spec.key ? await readFile(spec.key) : undefined, passphrase, inform: isPfx ? 'PFX' : 'PEM' };
}

async function tlsOf(t: TlsSpec): Promise<NitroTlsOptions> {
  return { caPem: t.ca ? await readText(t.ca, 'tls.ca') : undefined, fingerprintSha256: t.fingerprint, insecure: t.insecure };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
}
