// Where everything of one lab lives, and the state file `lab up` leaves for `status`/`down`.
// One place for the paths so the inventory, the status and the tests cannot drift apart.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, errorMessage } from '../errors.js';
import type { RunningAppliance } from './sim/types.js';

export const DEFAULT_LAB_DIR = '.adc-cutover/lab';

export function labPaths(dir: string) {
  const root = resolve(dir);
  return {
    root,
    state: join(root, 'lab.json'),
    inventory: join(root, 'inventory.yaml'),
    pki: join(root, 'pki'),
    caFile: join(root, 'pki', 'ca.pem'),
    caKey: join(root, 'pki', 'ca.key'),
    serverCert: join(root, 'pki', 'server.pem'),
    serverKey: join(root, 'pki', 'server.key'),
    certs: join(root, 'certs'),
    oldCert: join(root, 'certs', 'otp-old.pem'),
    oldKey: join(root, 'certs', 'otp-old.key'),
    newCert: join(root, 'certs', 'otp-new.pem'),
    newKey: join(root, 'certs', 'otp-new.key'),
    secrets: join(root, 'secrets'),
    secret: (name: string) => join(root, 'secrets', name),
    slapd: join(root, 'slapd'),
    sim: join(root, 'sim'),
    simConfig: join(root, 'sim', 'config.json'),
    simState: join(root, 'sim', 'state.json'),
    simLog: join(root, 'sim', 'sim.log'),
  };
}
export type LabPaths = ReturnType<typeof labPaths>;

/** `lab status --json`: exactly these fields (a contract for scripts and the tests). */
export interface LabStatus {
  directory: { url: string; ldapsUrl: string; caFile: string; baseDN: string; bindDN: string; passwordFile: string; attribute: string };
  appliances: { name: string; nitroUrl: string; username: string; passwordFile: string; gatewayUrl: string; haPeer: string | null; firmware: 'multi' | 'single'; profile?: string }[];
  certs: { old: { cert: string; key: string; certkey: string }; new: { cert: string; key: string } };
  /** The first canary of the pool (`canary`). */
  canary: LabCanary;
  /** Every canary: `canary`, `canary2`, … (lab up --canaries, default 3). */
  canaries: LabCanary[];
  inventory: string;
  /** With replicas: every directory server (dc1 takes the writes), and its slapd pid. */
  servers?: { name: string; url: string; ldapsUrl: string; pid: number }[];
}

export interface LabCanary {
  dn: string;
  sAMAccountName: string;
  passwordFile: string;
  totpSecretFile: string;
}

/** What `lab down` needs: the processes by pid and every address they listened on. */
export interface LabState {
  version: 1;
  /** 'starting' is written as soon as a process runs, so an interrupted `lab up` can still be taken down. */
  state: 'starting' | 'up' | 'down';
  startedAt: string;
  slapd: { pid: number; pidFile: string; url: string; ldapsUrl: string; rootDN: string; rootPasswordFile: string };
  simulator: { pid: number; appliances: RunningAppliance[] } | null;
  /** Replica slapd processes (dc2…), stopped by pid with the rest. */
  replicas?: { name: string; pid: number; pidFile: string; url: string; ldapsUrl: string }[];
  /** Every user's password and devices (mode 0600): for tests that log on as someone else. */
  seedFile: string;
  /** Null until the lab is up. */
  status: LabStatus | null;
}

export function writeSecret(file: string, value: string): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, value, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file: make sure a rerun does not leave it readable.
  chmodSync(file, 0o600);
}

export function readLabState(dir: string): LabState {
  const paths = labPaths(dir);
  let text: string;
  try {
    text = readFileSync(paths.state, 'utf8');
  } catch {
    throw new InputError(`no lab in ${paths.root} (${paths.state} is missing); start one with: adc-cutover lab up --dir ${dir}`);
  }
  try {
    return JSON.parse(text) as LabState;
  } catch (err) {
    throw new InputError(`${paths.state}: not a lab state file (${errorMessage(err)})`);
  }
}

export function writeLabState(dir: string, state: LabState): void {
  writeFileSync(labPaths(dir).state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
