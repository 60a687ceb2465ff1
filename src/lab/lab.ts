// The lab lifecycle behind `adc-cutover lab up|status|down|fault`: PKI, a real slapd, seeded
// users, the ADC simulator as a background process, secrets in 0600 files, the inventory and a
// state file. `labDown` runs in a different process from `labUp`, so everything it needs to stop
// is in the state file, by pid.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { AdcError, InputError, errorMessage } from '../errors.js';
import { keyMaterialFromPem } from '../otp/index.js';
import { inventoryYaml, type InventoryAppliance } from './inventory.js';
import { DEFAULT_LAB_DIR, labPaths, readLabState, writeLabState, writeSecret, type LabPaths, type LabState, type LabStatus } from './lab-layout.js';
import { generateCa, issueCert, selfSignedCert } from './pki.js';
import { isRunning, sleep, stopPid } from './processes.js';
import { seedUsers, type SeedResult, type SeededCanary } from './seed.js';
import { injectFault } from './sim/control-client.js';
import { startSimulatorProcess, type SimulatorProcess } from './sim-process.js';
import type { FaultSpec, SimApplianceConfig, SimulatorConfig } from './sim/types.js';
import { PROFILE_NAMES, firmwareProfile } from './sim/profiles.js';
import { randomPassword, serverNames, startSlapd, type RunningSlapd } from './slapd.js';
import { awaitReplicas, labLdapAction, otpAttributePerAppliance, replicaDir, startReplicas, type LabServer } from './lab-directory.js';

export { DEFAULT_LAB_DIR } from './lab-layout.js';
export type { LabStatus, LabState } from './lab-layout.js';

export const OLD_CERTKEY = 'otp-old';

export interface LabUpOptions {
  /** Default `.adc-cutover/lab` under the current directory. */
  dir?: string;
  /** Seeded users besides the canary (default 200). */
  users?: number;
  /** Canary users for the logon checks (default 3): `canary`, `canary2`, … */
  canaries?: number;
  /** Simulated appliances (default 1; `ha` needs at least 2). */
  appliances?: number;
  /** Make the first two appliances an HA pair. */
  ha?: boolean;
  /**
   * userDataEncryptionKey behaviour: one for every node, one per node (adc1, adc2, …), or
   * 'mixed' (alternating by inventory target, starting with multi; an HA pair counts once).
   */
  firmware?: Firmware | 'mixed' | Firmware[];
  /** Simulator timings for tests that need an HA file sync or a session expiry sooner. */
  simulator?: { sessionTimeoutSec?: number; haFileSyncDelayMs?: number };
  /** The built simulator entry point; default dist/src/lab/sim/main.js of this package. */
  simulatorMain?: string;
  /** Progress lines for a terminal; never secrets. */
  log?: (line: string) => void;
  /** Directory servers (default 1): dc1 plus read-only replicas dc2… (syncrepl). */
  replicas?: number;
  /** How late a change reaches a replica at most, in seconds (default 10). */
  replicationDelaySec?: number;
  /** The OTP attribute the appliances' LDAP actions name: one, or one per appliance (default the seeded one). */
  otpAttribute?: string | string[];
}

/** A firmware profile by name (src/lab/sim/profiles.ts): multi, single, rows-certkeyname, rows-no-echo. */
export type Firmware = string;

/**
 * One firmware per simulated node. The members of an HA pair may differ: a pair in the middle of
 * an upgrade runs two builds (secondary first, then fail over), and the binding rules follow the
 * node that is primary at the time — which a rehearsal may well want to show.
 */
export function firmwarePerNode(n: number, ha: boolean, firmware: LabUpOptions['firmware'] = 'multi'): Firmware[] {
  if (Array.isArray(firmware)) {
    if (firmware.length === 1) return Array.from({ length: n }, () => firmware[0]);
    if (firmware.length !== n) throw new InputError(`--firmware lists ${firmware.length} entr(ies) for ${n} appliance(s): give one, or one per appliance (adc1, adc2, …)`);
    return [...firmware];
  }
  if (firmware === 'mixed') {
    // Alternate by inventory target: the pair (adc1+adc2) is target 0, adc3 target 1, …
    return Array.from({ length: n }, (_, i) => {
      const target = ha ? Math.max(0, i - 1) : i;
      return target % 2 === 0 ? 'multi' : 'single';
    });
  }
  return Array.from({ length: n }, () => firmware);
}

/** `--firmware <profile>|mixed|<profile>,<profile>,…` as the command line gives it. */
export function parseFirmwareOption(text: string): LabUpOptions['firmware'] {
  const parts = text.split(',').map((s) => s.trim().toLowerCase());
  if (parts.length === 1 && parts[0] === 'mixed') return 'mixed';
  for (const p of parts) {
    if (!PROFILE_NAMES.includes(p)) throw new InputError(`--firmware: "${p}" is not a firmware profile (give ${PROFILE_NAMES.join(', ')}, mixed, or a list such as multi,single,multi)`);
  }
  return parts.length === 1 ? parts[0] : parts;
}

interface PlannedAppliance {
  cfg: SimApplianceConfig;
  passwordFile: string;
}

function planAppliances(n: number, ha: boolean, firmware: Firmware[], paths: LabPaths): PlannedAppliance[] {
  const out: PlannedAppliance[] = [];
  for (let i = 0; i < n; i++) {
    const name = `adc${i + 1}`;
    // The members of an HA pair share one configuration, nsroot password included.
    const pairFirst = ha && i === 1 ? out[0] : undefined;
    const password = pairFirst ? pairFirst.cfg.password : randomPassword();
    const passwordFile = pairFirst ? pairFirst.passwordFile : paths.secret(`${name}.password`);
    if (!pairFirst) writeSecret(passwordFile, password);
    const cfg: SimApplianceConfig = {
      name,
      firmware: firmwareProfile(firmware[i]).userDataKeys,
      profile: firmware[i],
      username: 'nsroot',
      password,
      ...(ha && i < 2 ? { ha: { peer: i === 0 ? 'adc2' : 'adc1', role: i === 0 ? 'primary' : 'secondary' } } : {}),
    };
    out.push({ cfg, passwordFile });
  }
  return out;
}

export async function labUp(opts: LabUpOptions = {}): Promise<LabStatus> {
  const dir = opts.dir ?? DEFAULT_LAB_DIR;
  const paths = labPaths(dir);
  const log = opts.log ?? (() => undefined);
  const users = opts.users ?? 200;
  const count = opts.appliances ?? (opts.ha ? 2 : 1);
  if (!Number.isInteger(users) || users < 0) throw new InputError(`--users must be a whole number ≥ 0 (got ${users})`);
  const canaryCount = opts.canaries ?? 3;
  if (!Number.isInteger(canaryCount) || canaryCount < 1 || canaryCount > 20) throw new InputError(`--canaries must be between 1 and 20 (got ${canaryCount})`);
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new InputError(`--appliances must be between 1 and 16 (got ${count})`);
  if (opts.ha && count < 2) throw new InputError('--ha needs at least 2 appliances (the first two form the pair)');
  const firmware = firmwarePerNode(count, opts.ha === true, opts.firmware);
  const replicas = opts.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new InputError(`--replicas must be between 1 and 5 (got ${replicas})`);
  const otpAttributes = otpAttributePerAppliance(count, opts.otpAttribute, 'userParameters');
  refuseIfRunning(dir);

  for (const d of [paths.root, paths.pki, paths.certs, paths.secrets, paths.sim]) mkdirSync(d, { recursive: true, mode: 0o700 });

  log('generating certificates');
  const ca = generateCa('adc-cutover lab CA');
  writeFileSync(paths.caFile, ca.certPem);
  writeSecret(paths.caKey, ca.keyPem);
  const server = issueCert(ca, { cn: 'localhost', sans: serverNames() });
  writeFileSync(paths.serverCert, server.certPem);
  writeSecret(paths.serverKey, server.keyPem);
  const year = new Date().getUTCFullYear();
  const oldPem = selfSignedCert({ cn: `OTP encryption ${year - 1}` });
  const newPem = selfSignedCert({ cn: `OTP encryption ${year + 1}` });
  writeFileSync(paths.oldCert, oldPem.certPem);
  writeSecret(paths.oldKey, oldPem.keyPem);
  writeFileSync(paths.newCert, newPem.certPem);
  writeSecret(paths.newKey, newPem.keyPem);
  const oldKey = keyMaterialFromPem(oldPem.certPem, oldPem.keyPem);

  let slapd: RunningSlapd | undefined;
  let sim: SimulatorProcess | undefined;
  let extra: LabServer[] = [];
  try {
    log('starting slapd');
    slapd = await startSlapd({ dir: paths.slapd, ca, ...(replicas > 1 ? { provider: true } : {}) });
    const seedFile = paths.secret('users.json');
    const starting: LabState = {
      version: 1,
      state: 'starting',
      startedAt: new Date().toISOString(),
      slapd: { pid: slapd.pid, pidFile: slapd.files.pidFile, url: slapd.url, ldapsUrl: slapd.ldapsUrl, rootDN: slapd.rootDN, rootPasswordFile: paths.secret('directory-root.password') },
      simulator: null,
      seedFile,
      status: null,
    };
    writeLabState(dir, starting);
    writeSecret(paths.secret('directory.password'), slapd.servicePassword);
    writeSecret(paths.secret('directory-root.password'), slapd.rootPassword);
    log(`seeding ${users} users`);
    const seed = await seedUsers(slapd, { count: users, oldKey, canaries: canaryCount });
    for (const c of seed.canaries) {
      writeSecret(paths.secret(`${c.sAMAccountName}.password`), c.password);
      writeSecret(paths.secret(`${c.sAMAccountName}.totp`), c.totpSecret);
    }
    writeSecret(seedFile, JSON.stringify(seed));
    if (replicas > 1) {
      log(`starting ${replicas - 1} replica(s), each seeing a change ${opts.replicationDelaySec ?? 10}s after dc1`);
      extra = await startReplicas(slapd, replicas, opts.replicationDelaySec ?? 10, (name) => replicaDir(paths.slapd, name), ca);
      writeLabState(dir, { ...starting, replicas: extra.map(replicaState) });
    }
    const servers: LabServer[] = [{ name: 'dc1', slapd }, ...extra];

    log(`starting ${count} simulated appliance(s)`);
    const planned = planAppliances(count, opts.ha === true, firmware, paths);
    const preload: SimApplianceConfig['preload'] = {
      files: [
        { name: 'otp-old.pem', content: oldPem.certPem },
        { name: 'otp-old.key', content: oldPem.keyPem },
      ],
      certkeys: [{ certkey: OLD_CERTKEY, cert: 'otp-old.pem', key: 'otp-old.key' }],
      userDataEncryptionKeys: [OLD_CERTKEY],
      otpEncryption: 'ON',
    };
    const config: SimulatorConfig = {
      appliances: planned.map((p, i) => ({ ...p.cfg, preload, ldapActions: [labLdapAction(servers, p.cfg.ha?.role === 'secondary' ? i - 1 : i, otpAttributes[i])] })),
      tls: server,
      directory: {
        url: slapd.ldapsUrl,
        caPem: ca.certPem,
        baseDN: slapd.baseDN,
        bindDN: slapd.serviceDN,
        bindPassword: slapd.servicePassword,
        attribute: slapd.attribute,
        userNameAttribute: 'sAMAccountName',
      },
      control: true,
      ...(opts.simulator?.sessionTimeoutSec !== undefined ? { sessionTimeoutSec: opts.simulator.sessionTimeoutSec } : {}),
      ...(opts.simulator?.haFileSyncDelayMs !== undefined ? { haFileSyncDelayMs: opts.simulator.haFileSyncDelayMs } : {}),
      ...(extra.length ? { relays: extra.map((r) => r.relay!) } : {}),
    };
    sim = await startSimulatorProcess({ config, ...(opts.simulatorMain ? { main: opts.simulatorMain } : {}), configFile: paths.simConfig, stateFile: paths.simState, logFile: paths.simLog });
    writeLabState(dir, { ...starting, replicas: extra.map(replicaState), simulator: { pid: sim.pid, appliances: sim.appliances } });
    await waitForAppliances(sim, planned);
    if (extra.length) {
      log('waiting for the replicas to take the seed');
      await awaitReplicas(slapd, extra, opts.replicationDelaySec ?? 10);
    }

    const status = { ...buildStatus(paths, slapd, sim, planned, seed.canaries), ...(extra.length ? { servers: servers.map(serverStatus) } : {}) };
    writeFileSync(
      paths.inventory,
      inventoryYaml({
        paths,
        appliances: inventoryAppliances(sim, planned),
        directory: {
          url: slapd.ldapsUrl,
          bindDN: slapd.serviceDN,
          passwordFile: status.directory.passwordFile,
          base: slapd.usersDN,
          attribute: slapd.attribute,
          ...(extra.length ? { servers: servers.map((s) => ({ name: s.name, url: s.slapd.ldapsUrl })) } : {}),
        },
        canaries: status.canaries.map((c) => ({ user: c.sAMAccountName, passwordFile: c.passwordFile, totpSecretFile: c.totpSecretFile })),
        oldCertkey: OLD_CERTKEY,
      }),
    );
    writeLabState(dir, { ...starting, state: 'up', replicas: extra.map(replicaState), simulator: { pid: sim.pid, appliances: sim.appliances }, status });
    log(`lab up in ${paths.root}`);
    return status;
  } catch (err) {
    // Leave nothing running behind a failed start; the files stay for a post-mortem.
    if (sim) await stopPid(sim.pid);
    for (const r of extra) await r.slapd.stop();
    if (slapd) {
      await slapd.stop();
      try {
        writeLabState(dir, { ...readLabState(dir), state: 'down' });
      } catch {
        // No state file yet: nothing to mark.
      }
    }
    throw err;
  }
}

function replicaState(s: LabServer): NonNullable<LabState['replicas']>[number] {
  return { name: s.name, pid: s.slapd.pid, pidFile: s.slapd.files.pidFile, url: s.slapd.url, ldapsUrl: s.slapd.ldapsUrl };
}

function serverStatus(s: LabServer): NonNullable<LabStatus['servers']>[number] {
  return { name: s.name, url: s.slapd.url, ldapsUrl: s.slapd.ldapsUrl, pid: s.slapd.pid };
}

function buildStatus(paths: LabPaths, slapd: RunningSlapd, sim: SimulatorProcess, planned: PlannedAppliance[], seeded: SeededCanary[]): LabStatus {
  const canaries = seeded.map((c) => ({
    dn: c.dn,
    sAMAccountName: c.sAMAccountName,
    passwordFile: paths.secret(`${c.sAMAccountName}.password`),
    totpSecretFile: paths.secret(`${c.sAMAccountName}.totp`),
  }));
  return {
    directory: {
      url: slapd.url,
      ldapsUrl: slapd.ldapsUrl,
      caFile: paths.caFile,
      baseDN: slapd.baseDN,
      bindDN: slapd.serviceDN,
      passwordFile: paths.secret('directory.password'),
      attribute: slapd.attribute,
    },
    appliances: planned.map((p) => {
      const running = sim.appliances.find((a) => a.name === p.cfg.name);
      if (!running) throw new AdcError(`the ADC simulator did not report appliance ${p.cfg.name}`);
      return {
        name: p.cfg.name,
        nitroUrl: running.nitroHttpsUrl,
        username: p.cfg.username,
        passwordFile: p.passwordFile,
        gatewayUrl: running.gatewayUrl,
        haPeer: p.cfg.ha?.peer ?? null,
        firmware: p.cfg.firmware,
        profile: p.cfg.profile ?? p.cfg.firmware,
      };
    }),
    certs: {
      old: { cert: paths.oldCert, key: paths.oldKey, certkey: OLD_CERTKEY },
      new: { cert: paths.newCert, key: paths.newKey },
    },
    canary: canaries[0],
    canaries,
    inventory: paths.inventory,
  };
}

function inventoryAppliances(sim: SimulatorProcess, planned: PlannedAppliance[]): InventoryAppliance[] {
  const url = (name: string) => sim.appliances.find((a) => a.name === name)!;
  const out: InventoryAppliance[] = [];
  for (const p of planned) {
    if (p.cfg.ha?.role === 'secondary') continue;
    const self = url(p.cfg.name);
    if (p.cfg.ha) {
      const peer = url(p.cfg.ha.peer);
      out.push({ name: `${p.cfg.name}-${p.cfg.ha.peer}`, username: p.cfg.username, passwordFile: p.passwordFile, gateway: self.gatewayUrl, nitro: [self.nitroHttpsUrl, peer.nitroHttpsUrl] });
    } else {
      out.push({ name: p.cfg.name, username: p.cfg.username, passwordFile: p.passwordFile, gateway: self.gatewayUrl, nitro: [self.nitroHttpsUrl] });
    }
  }
  return out;
}

/** NITRO answers with the lab's credentials and the gateway answers HTTP on every appliance. */
async function waitForAppliances(sim: SimulatorProcess, planned: PlannedAppliance[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (const p of planned) {
    const a = sim.appliances.find((x) => x.name === p.cfg.name);
    if (!a) throw new AdcError(`the ADC simulator did not report appliance ${p.cfg.name}`);
    let last = '';
    for (;;) {
      try {
        const nitro = await fetch(`${a.nitroUrl}/nitro/v1/config/nsconfig`, {
          headers: { 'X-NITRO-USER': p.cfg.username, 'X-NITRO-PASS': p.cfg.password },
          signal: AbortSignal.timeout(2000),
        });
        await nitro.arrayBuffer();
        const gateway = await fetch(`${a.gatewayHttpUrl}/`, { signal: AbortSignal.timeout(2000) });
        await gateway.arrayBuffer();
        if (nitro.ok) break;
        last = `NITRO answered HTTP ${nitro.status}`;
      } catch (err) {
        last = errorMessage(err);
      }
      if (Date.now() > deadline) throw new AdcError(`appliance ${p.cfg.name} (${a.nitroUrl}) does not answer: ${last}`);
      await sleep(100);
    }
  }
}

function refuseIfRunning(dir: string): void {
  let state: LabState;
  try {
    state = readLabState(dir);
  } catch {
    return;
  }
  const alive = [state.slapd.pid, state.simulator?.pid].filter((p): p is number => p !== undefined && isRunning(p));
  if (state.state !== 'down' && alive.length > 0) {
    throw new InputError(`a lab is already up in ${labPaths(dir).root} (pids ${alive.join(', ')}); run: adc-cutover lab down --dir ${dir}`);
  }
}

export function labStatus(dir: string = DEFAULT_LAB_DIR): LabStatus {
  const state = readLabState(dir);
  if (state.state !== 'up' || !state.status) {
    throw new InputError(
      `the lab in ${labPaths(dir).root} is ${state.state === 'starting' ? 'still starting (or its start was interrupted: run lab down)' : 'down'}; start it with: adc-cutover lab up --dir ${dir}`,
    );
  }
  return state.status;
}

export interface LabProcessInfo {
  name: 'slapd' | 'simulator';
  pid: number;
  running: boolean;
}

/** The lab's processes and whether each is alive (for `lab status` and for tests). */
export function labProcesses(dir: string = DEFAULT_LAB_DIR): LabProcessInfo[] {
  const state = readLabState(dir);
  const out: LabProcessInfo[] = [{ name: 'slapd', pid: state.slapd.pid, running: isRunning(state.slapd.pid) }];
  for (const r of state.replicas ?? []) out.push({ name: 'slapd', pid: r.pid, running: isRunning(r.pid) });
  if (state.simulator) out.push({ name: 'simulator', pid: state.simulator.pid, running: isRunning(state.simulator.pid) });
  return out;
}

/** Every 127.0.0.1 port the lab listened on. */
export function labPorts(state: LabState): number[] {
  const urls = [
    state.slapd.url,
    state.slapd.ldapsUrl,
    ...(state.replicas ?? []).flatMap((r) => [r.url, r.ldapsUrl]),
    ...(state.simulator?.appliances ?? []).flatMap((a) => [a.nitroUrl, a.nitroHttpsUrl, a.gatewayUrl, a.gatewayHttpUrl]),
  ];
  return [...new Set(urls.map((u) => Number(new URL(u).port)).filter((p) => p > 0))];
}

export interface LabDownResult {
  stopped: { name: string; pid: number; outcome: 'not-running' | 'terminated' | 'killed' }[];
}

export async function labDown(dir: string = DEFAULT_LAB_DIR): Promise<LabDownResult> {
  const state = readLabState(dir);
  const stopped: LabDownResult['stopped'] = [];
  if (state.simulator) stopped.push({ name: 'simulator', pid: state.simulator.pid, outcome: await stopPid(state.simulator.pid) });
  for (const r of state.replicas ?? []) stopped.push({ name: `slapd ${r.name}`, pid: r.pid, outcome: await stopPid(r.pid, { pidFile: r.pidFile }) });
  stopped.push({ name: 'slapd', pid: state.slapd.pid, outcome: await stopPid(state.slapd.pid, { pidFile: state.slapd.pidFile }) });
  const listening = await stillListening(labPorts(state));
  writeLabState(dir, { ...state, state: 'down' });
  if (listening.length > 0) {
    throw new AdcError(`lab down: processes stopped but something still listens on 127.0.0.1 port(s) ${listening.join(', ')}`);
  }
  return { stopped };
}

async function stillListening(ports: number[]): Promise<number[]> {
  const open = await Promise.all(ports.map(async (port) => ((await accepts(port)) ? port : undefined)));
  return open.filter((p): p is number => p !== undefined);
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** `lab fault`: one fault on one appliance, through the simulator's control endpoint. */
export async function labFault(dir: string, appliance: string, fault: FaultSpec): Promise<void> {
  const state = readLabState(dir);
  if (state.state !== 'up' || !state.simulator) throw new InputError(`the lab in ${labPaths(dir).root} is not up`);
  const a = state.simulator.appliances.find((x) => x.name === appliance);
  if (!a) throw new InputError(`no appliance "${appliance}" in the lab (have: ${state.simulator.appliances.map((x) => x.name).join(', ')})`);
  if (!a.controlUrl) throw new AdcError(`appliance ${appliance}: the simulator runs without its control endpoint`);
  try {
    await injectFault(a.controlUrl, fault);
  } catch (err) {
    throw new AdcError(`appliance ${appliance}: fault not injected: ${errorMessage(err)}`);
  }
}

/** The seeded users (with passwords and secrets) of a lab: for tests and rehearsals. Never log it. */
export function labSeed(dir: string = DEFAULT_LAB_DIR): SeedResult {
  return JSON.parse(readFileSync(readLabState(dir).seedFile, 'utf8')) as SeedResult;
}

export function readLabSecret(file: string): string {
  return readFileSync(file, 'utf8').trim();
}
