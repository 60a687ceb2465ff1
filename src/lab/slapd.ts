// A real OpenLDAP slapd for the lab and the tests: its own slapd.conf, database and TLS files in
// one directory, LDAP and LDAPS on 127.0.0.1, started detached so it outlives `lab up`, and the
// base entries (OUs, service account, the `OTP Users` group) created through the protocol.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'ldapts';
import { AdcError, InputError, errorMessage } from '../errors.js';
import { generateCa, issueCert, type PemPair } from './pki.js';
import { freePort, isRunning, sleep, stopPid } from './processes.js';
import { adSchema, slapdConf } from './slapd-config.js';

export const SLAPD_PATH = '/usr/sbin/slapd';
/** OpenLDAP's offline loader, from the same package as slapd. */
export const SLAPADD_PATH = '/usr/sbin/slapadd';
/** Where Debian puts back_mdb.so, memberof.so and friends. */
export const SLAPD_MODULE_PATH = '/usr/lib/ldap';
export const SLAPD_SCHEMA_DIR = '/etc/ldap/schema';
export const SLAPD_INSTALL_COMMAND = 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils';

export interface StartSlapdOptions {
  /** Directory for slapd.conf, the database, TLS files, pid and log. Its database is recreated. */
  dir: string;
  /** Default `dc=lab,dc=example`. */
  suffix?: string;
  /** CA to sign the LDAPS certificate with (the lab shares one CA); a new one otherwise. */
  ca?: PemPair;
  rootPassword?: string;
  servicePassword?: string;
  /** Install slapd with apt-get when missing and running as root (default true). */
  install?: boolean;
  startTimeoutMs?: number;
  /** Keep a replication log for replicas (syncprov). */
  provider?: boolean;
  /**
   * Start as a read-only replica of the provider at `url` (same suffix and root account): the
   * base entries and users arrive by replication.
   */
  replicaOf?: { url: string; rootDN: string; rootPassword: string; timeoutSec?: number };
}

export interface SlapdFiles {
  conf: string;
  pidFile: string;
  logFile: string;
  caFile: string;
}

export interface RunningSlapd {
  pid: number;
  /** ldap://127.0.0.1:P */
  url: string;
  /** ldaps://127.0.0.1:P */
  ldapsUrl: string;
  caPem: string;
  caFile: string;
  baseDN: string;
  usersDN: string;
  groupsDN: string;
  /** `cn=OTP Users,<groupsDN>`, created empty. */
  otpGroupDN: string;
  rootDN: string;
  rootPassword: string;
  /** The ADC's bind account: reads everything, writes the OTP attributes under usersDN only. */
  serviceDN: string;
  servicePassword: string;
  attribute: 'userParameters';
  dir: string;
  files: SlapdFiles;
  stop(): Promise<void>;
  /**
   * Adds the entries of an LDIF file with OpenLDAP's offline loader (`slapadd`) and starts slapd
   * again on the same URLs and slapd.conf; `pid` changes. For bulk seeding only (the benchmark's
   * million users, loaded in under six minutes on the lab, where LDAP adds had gone at about 400 a
   * second). slapadd skips the protocol, the ACLs and the overlays, and needs the database to
   * itself, so slapd is down meanwhile; the entries' parents must already exist (the base
   * entries do).
   */
  addOffline(ldifFile: string): Promise<void>;
}

/** Names a lab server certificate answers to: clients connect to 127.0.0.1, people type localhost or the host name. */
export function serverNames(): string[] {
  return [...new Set(['localhost', hostname(), '127.0.0.1'].filter((n) => n.length > 0))];
}

/** `{SSHA}` as slapd verifies it: base64(SHA1(password ‖ salt) ‖ salt). */
export function sshaHash(password: string, salt: Buffer = randomBytes(8)): string {
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** A password for generated accounts: URL-safe, no characters a shell or an LDIF would mangle. */
export function randomPassword(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

/** The slapd binary, installed on demand when we are root; otherwise the exact command to run. */
export function ensureSlapd(opts: { install?: boolean; log?: (line: string) => void; slapdPath?: string } = {}): string {
  const slapd = opts.slapdPath ?? SLAPD_PATH;
  const present = () => existsSync(slapd) && existsSync(join(SLAPD_MODULE_PATH, 'back_mdb.la'));
  if (present()) return slapd;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || opts.install === false) {
    throw new InputError(`OpenLDAP slapd is not installed (${slapd}). Install it as root with:\n  ${SLAPD_INSTALL_COMMAND}`);
  }
  opts.log?.('installing slapd with apt-get (once)');
  const run = spawnSync('sh', ['-c', SLAPD_INSTALL_COMMAND], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (run.status !== 0 || !present()) {
    throw new InputError(`installing slapd failed (exit ${run.status}); run it yourself:\n  ${SLAPD_INSTALL_COMMAND}\n${(run.stderr ?? '').slice(-2000)}`);
  }
  return slapd;
}

export async function startSlapd(opts: StartSlapdOptions): Promise<RunningSlapd> {
  const slapd = ensureSlapd({ install: opts.install });
  const dir = resolve(opts.dir);
  const suffix = opts.suffix ?? 'dc=lab,dc=example';
  const rootDN = `cn=admin,${suffix}`;
  const serviceDN = `cn=svc-otp,ou=Service,${suffix}`;
  const usersDN = `ou=Users,${suffix}`;
  const groupsDN = `ou=Groups,${suffix}`;
  const rootPassword = opts.rootPassword ?? randomPassword();
  const servicePassword = opts.servicePassword ?? randomPassword();

  const tlsDir = join(dir, 'tls');
  const dbDir = join(dir, 'db');
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  rmSync(dbDir, { recursive: true, force: true });
  mkdirSync(dbDir, { recursive: true, mode: 0o700 });

  const ca = opts.ca ?? generateCa('adc-cutover lab CA');
  const server = issueCert(ca, { cn: 'localhost', sans: serverNames() });
  const files: SlapdFiles = {
    conf: join(dir, 'slapd.conf'),
    pidFile: join(dir, 'slapd.pid'),
    logFile: join(dir, 'slapd.log'),
    caFile: join(tlsDir, 'ca.pem'),
  };
  writeFileSync(files.caFile, ca.certPem);
  writeFileSync(join(tlsDir, 'server.pem'), server.certPem);
  writeFileSync(join(tlsDir, 'server.key'), server.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'ad.schema'), adSchema());
  writeFileSync(
    files.conf,
    slapdConf({
      modulePath: SLAPD_MODULE_PATH,
      schemaDir: SLAPD_SCHEMA_DIR,
      adSchemaFile: join(dir, 'ad.schema'),
      pidFile: files.pidFile,
      argsFile: join(dir, 'slapd.args'),
      dbDir,
      suffix,
      rootDN,
      rootPasswordHash: sshaHash(rootPassword),
      serviceDN,
      usersDN,
      tls: { certFile: join(tlsDir, 'server.pem'), keyFile: join(tlsDir, 'server.key'), caFile: files.caFile },
      ...(opts.provider ? { provider: true } : {}),
      ...(opts.replicaOf ? { replicaOf: { url: opts.replicaOf.url, bindDN: opts.replicaOf.rootDN, password: opts.replicaOf.rootPassword, timeoutSec: opts.replicaOf.timeoutSec ?? 30 } } : {}),
    }),
    { mode: 0o600 },
  );

  // Ports come from the kernel but another test may grab one before slapd binds: retry.
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const [port, tlsPort] = [await freePort(), await freePort()];
    if (port === tlsPort) continue;
    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = `ldaps://127.0.0.1:${tlsPort}`;
    const probe = { url, rootDN, rootPassword, timeoutMs: opts.startTimeoutMs ?? 15_000 };
    const started = await launch(slapd, files, `${url}/ ${ldapsUrl}/`, probe);
    if (started.ok) {
      const running: RunningSlapd = {
        pid: started.pid,
        url,
        ldapsUrl,
        caPem: ca.certPem,
        caFile: files.caFile,
        baseDN: suffix,
        usersDN,
        groupsDN,
        otpGroupDN: `cn=OTP Users,${groupsDN}`,
        rootDN,
        rootPassword,
        serviceDN,
        servicePassword,
        attribute: 'userParameters',
        dir,
        files,
        // The current pid, not the first: addOffline starts a new process.
        stop: async () => {
          await stopPid(running.pid, { pidFile: files.pidFile });
        },
        addOffline: async (ldifFile: string) => {
          await running.stop();
          await slapadd(files.conf, suffix, ldifFile);
          // Same ports: callers hold the URLs. Another process could take one while slapd is
          // down; then this fails with slapd's log rather than moving the server.
          const again = await launch(slapd, files, `${url}/ ${ldapsUrl}/`, probe);
          if (!again.ok) throw new AdcError(`slapd (${files.conf}) did not start again after slapadd: ${again.log.trim().split('\n').slice(-8).join('\n') || 'no output'}`);
          running.pid = again.pid;
        },
      };
      try {
        if (!opts.replicaOf) await createBaseEntries(running);
      } catch (err) {
        await running.stop();
        throw new AdcError(`slapd at ${url}: creating the base entries failed: ${errorMessage(err)}`);
      }
      return running;
    }
    lastError = started.log;
    if (!/already in use|bind\(\) failed|daemon: bind/i.test(started.log)) break;
  }
  throw new AdcError(`slapd (${files.conf}) did not start: ${lastError.trim().split('\n').slice(-8).join('\n') || 'no output'} (log: ${files.logFile})`);
}

/**
 * `slapadd` without `-q`, on purpose. Quick mode loads about three times faster, but the
 * database it leaves makes every later modify dearer: on the lab slapd spent about twice the CPU
 * per compare-and-swap modify (2.2–3.5 against 1.1–1.6 CPU-s per 10,000, mostly system time, at
 * 50,000 and 200,000 users), which would halve the very ceiling the benchmark compares against.
 * After a quick load back_mdb's free list held some 20 MB of pages in 11 overflow pages, which a
 * commit rewrites; a plain load leaves it nearly empty, as LDAP adds do. Without -q slapadd
 * commits each entry, still without fsync (the configuration says dbnosync).
 * It runs as this process's user, like the slapd we launch, so the files it creates in the
 * database directory stay slapd's to open.
 */
async function slapadd(conf: string, suffix: string, ldifFile: string): Promise<void> {
  if (!existsSync(SLAPADD_PATH)) throw new InputError(`OpenLDAP slapadd is not installed (${SLAPADD_PATH}). Install it as root with:\n  ${SLAPD_INSTALL_COMMAND}`);
  const child = spawn(SLAPADD_PATH, ['-f', conf, '-b', suffix, '-l', ldifFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new AdcError(`slapadd -l ${ldifFile} failed (exit ${code ?? signal}): ${stderr.trim().split('\n').slice(-8).join('\n') || 'no output'}`);
}

type LaunchResult = { ok: true; pid: number } | { ok: false; log: string };

async function launch(slapd: string, files: SlapdFiles, urls: string, probe: { url: string; rootDN: string; rootPassword: string; timeoutMs: number }): Promise<LaunchResult> {
  rmSync(files.pidFile, { force: true });
  const logFd = openSync(files.logFile, 'w', 0o600);
  // `exec` keeps the pid: the shell only lowers the fd limit (a container's huge default makes
  // slapd allocate enormous tables), then becomes slapd. `-d none` keeps slapd in the foreground
  // of its own process, so fatal errors reach the log instead of syslog.
  const child = spawn('sh', ['-c', 'ulimit -n 4096 2>/dev/null; exec "$0" "$@"', slapd, '-f', files.conf, '-h', urls, '-d', 'none'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) return { ok: false, log: 'spawn failed' };
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + probe.timeoutMs;
  while (Date.now() < deadline) {
    if (exited || !isRunning(pid)) return { ok: false, log: readLog(files.logFile) };
    if (await canBind(probe.url, probe.rootDN, probe.rootPassword)) return { ok: true, pid };
    await sleep(25);
  }
  await stopPid(pid, { pidFile: files.pidFile });
  return { ok: false, log: `no successful bind within ${probe.timeoutMs} ms. ${readLog(files.logFile)}` };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function canBind(url: string, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url, connectTimeout: 1000, timeout: 2000 });
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

async function createBaseEntries(s: RunningSlapd): Promise<void> {
  const client = new Client({ url: s.url, timeout: 10_000 });
  try {
    await client.bind(s.rootDN, s.rootPassword);
    const dc = s.baseDN.split(',')[0].split('=')[1];
    await client.add(s.baseDN, { objectClass: ['top', 'dcObject', 'organization'], dc, o: 'adc-cutover lab' });
    for (const ou of ['Users', 'Groups', 'Service']) {
      await client.add(`ou=${ou},${s.baseDN}`, { objectClass: ['top', 'organizationalUnit'], ou });
    }
    await client.add(s.serviceDN, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      cn: 'svc-otp',
      sn: 'svc-otp',
      sAMAccountName: 'svc-otp',
      userPrincipalName: 'svc-otp@lab.example',
      userAccountControl: '66048',
      description: 'ADC LDAP bind account (OTP attribute writer)',
      userPassword: sshaHash(s.servicePassword),
    });
    await client.add(s.otpGroupDN, {
      objectClass: ['top', 'group'],
      cn: 'OTP Users',
      sAMAccountName: 'OTP Users',
      groupType: '-2147483646',
    });
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
