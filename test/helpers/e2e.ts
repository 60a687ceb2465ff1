// An end-to-end world for playbook tests: a lab (real slapd + the simulator process) in a temp
// directory, the CLI run as a user would, and snapshots of everything a run may touch — every
// appliance's files, certkeys, bindings and OTP parameters, and every directory value byte for
// byte — so a test can say "exactly as before".
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { labDown, labUp, type LabUpOptions } from '../../src/lab/lab.js';
import { isRunning } from '../../src/lab/processes.js';
import { readLabState, type LabState, type LabStatus } from '../../src/lab/lab-layout.js';
import { clearFaults, injectFault, labState, type FaultSpec } from '../../src/lab/sim/index.js';
import { runCli, type CliOptions, type CliResult } from './cli.js';

export interface ApplianceSnapshot {
  files: string[];
  certkeys: string[];
  bindings: string[];
  otpEncryption: string;
}

export interface Snapshot {
  appliances: Record<string, ApplianceSnapshot>;
  /** The server the lab writes to (dc1): every user's values. */
  directory: Record<string, string[]>;
  /**
   * Labs with replicas only: the same read on each replica (dc2…), which the appliances read
   * too. A replica that is down is 'unreachable': stopped, it cannot change either.
   */
  replicas?: Record<string, Record<string, string[]> | 'unreachable'>;
}

export interface SeededUserRecord {
  dn: string;
  sAMAccountName: string;
  kind: string;
  devices: { name: string; secret: string }[];
}

export interface E2eLab {
  root: string;
  labDir: string;
  status: LabStatus;
  state: LabState;
  inventory: string;
  cli(args: string[], opts?: Pick<CliOptions, 'input' | 'timeoutMs' | 'onStdout'>): Promise<CliResult>;
  snapshot(): Promise<Snapshot>;
  /**
   * Writes `values` back as root wherever the directory now differs (an empty list removes the
   * attribute): a test that runs several scenarios on one lab starts each from the same users.
   * Returns how many entries were written.
   */
  putDirectory(values: Snapshot['directory']): Promise<number>;
  fault(appliance: string, spec: FaultSpec): Promise<void>;
  clearFaults(): Promise<void>;
  users(): SeededUserRecord[];
  /** Every secret the lab holds (passwords, TOTP secrets, private keys), for leak scans. */
  secrets(): string[];
  stop(): Promise<void>;
}

export async function startE2eLab(opts: Omit<LabUpOptions, 'dir'> = {}): Promise<E2eLab> {
  const root = mkdtempSync(join(tmpdir(), 'adc-e2e-'));
  const labDir = join(root, 'lab');
  const status = await labUp({ users: 60, appliances: 2, ...opts, dir: labDir });
  const state = readLabState(labDir);
  const env = { ADC_CUTOVER_HOME: join(root, 'home') };
  const controls = new Map((state.simulator?.appliances ?? []).map((a) => [a.name, a.controlUrl!]));
  const read = (p: string) => readFileSync(p, 'utf8');
  return {
    root,
    labDir,
    status,
    state,
    inventory: status.inventory,
    cli: (args, o = {}) => runCli(args, { env, cwd: root, ...o }),
    snapshot: async () => {
      const appliances: Record<string, ApplianceSnapshot> = {};
      for (const [name, url] of controls) {
        const s = await labState(url);
        appliances[name] = {
          files: [...(s.files['/nsconfig/ssl'] ?? [])].sort(),
          certkeys: s.certkeys.map((c) => `${c.certkey}:${c.sha1}`).sort(),
          bindings: s.bindings.filter((b) => b.kind === 'userdataencryptionkey').map((b) => b.certkey),
          otpEncryption: s.otp.encryption,
        };
      }
      // Replicas are read only where there are any: a single-server lab pays nothing more.
      const replicas = state.replicas?.length ? await replicaValues(state, status) : undefined;
      return { appliances, directory: await directoryValues(state.slapd.url, state, status), ...(replicas ? { replicas } : {}) };
    },
    putDirectory: (values) => putDirectoryValues(state, status, values),
    fault: async (appliance, spec) => {
      const url = controls.get(appliance);
      if (!url) throw new Error(`no appliance ${appliance} in the lab`);
      await injectFault(url, spec);
    },
    clearFaults: async () => {
      for (const url of controls.values()) await clearFaults(url);
    },
    users: () => (JSON.parse(read(join(labDir, 'secrets', 'users.json'))) as { users: SeededUserRecord[] }).users,
    secrets: () => {
      const users = JSON.parse(read(join(labDir, 'secrets', 'users.json'))) as { users: { password: string; devices: { secret: string }[] }[]; canary?: { password: string; totpSecret: string } };
      const keyBodies = [status.certs.old.key, status.certs.new.key].map(
        (k) =>
          read(k)
            .split('\n')
            .filter((l) => l && !l.startsWith('-----'))[1],
      );
      return [
        read(status.directory.passwordFile),
        ...status.canaries.flatMap((c) => [read(c.passwordFile), read(c.totpSecretFile)]),
        ...status.appliances.map((a) => read(a.passwordFile)),
        ...users.users.flatMap((u) => [u.password, ...u.devices.map((d) => d.secret)]),
        ...keyBodies,
      ]
        .map((s) => s.trim())
        .filter((s) => s.length >= 8);
    },
    stop: async () => {
      await labDown(labDir).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function replicaValues(state: LabState, status: LabStatus): Promise<NonNullable<Snapshot['replicas']>> {
  const out: NonNullable<Snapshot['replicas']> = {};
  for (const r of state.replicas ?? []) {
    try {
      out[r.name] = await directoryValues(r.url, state, status);
    } catch (err) {
      // Only a server that is not there counts as down; anything else is the test's failure.
      if (!isRunning(r.pid)) out[r.name] = 'unreachable';
      else throw err;
    }
  }
  return out;
}

/** Every user's values on one server, read as the lab's root (replicas share dc1's). */
async function directoryValues(url: string, state: LabState, status: LabStatus): Promise<Record<string, string[]>> {
  const client = new Client({ url, connectTimeout: 2000 });
  try {
    await client.bind(state.slapd.rootDN, readFileSync(state.slapd.rootPasswordFile, 'utf8').trim());
    const { searchEntries } = await client.search(status.directory.baseDN, {
      scope: 'sub',
      filter: '(objectClass=user)',
      attributes: [status.directory.attribute],
      paged: { pageSize: 500 },
    });
    const out: Record<string, string[]> = {};
    for (const e of searchEntries) {
      const v = e[status.directory.attribute];
      out[e.dn.toLowerCase()] = v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
    }
    return out;
  } finally {
    await client.unbind();
  }
}

async function putDirectoryValues(state: LabState, status: LabStatus, values: Snapshot['directory']): Promise<number> {
  const now = await directoryValues(state.slapd.url, state, status);
  const client = new Client({ url: state.slapd.url });
  let written = 0;
  try {
    await client.bind(state.slapd.rootDN, readFileSync(state.slapd.rootPasswordFile, 'utf8').trim());
    for (const [dn, want] of Object.entries(values)) {
      const have = now[dn] ?? [];
      if (JSON.stringify(have) === JSON.stringify(want)) continue;
      const type = status.directory.attribute;
      const change =
        want.length === 0
          ? new Change({ operation: 'delete', modification: new Attribute({ type, values: [] }) })
          : new Change({ operation: 'replace', modification: new Attribute({ type, values: want }) });
      await client.modify(dn, change);
      written++;
    }
    return written;
  } finally {
    await client.unbind();
  }
}

/** A run's `--json` lines, progress left out: what the fleet tests read the run's course from. */
export type RunEvent = Record<string, unknown> & { type: string; seq: number };
export function runEvents(stdout: string): RunEvent[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent)
    .filter((e) => e.type !== 'progress');
}

export const CUTOVER = new URL('../../playbooks/otp-cert-cutover.yaml', import.meta.url).pathname;
