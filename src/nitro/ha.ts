// Which node of an appliance to talk to. Writes must go to the HA primary, a failover can
// happen mid-run, and a cluster node's NSIP must never be configured directly.
import { AdcError, EXIT } from '../errors.js';
import { NitroError } from './errors.js';
import type { NitroClient } from './client.js';

export type SystemType = 'Stand-alone' | 'HA' | 'Cluster' | string;

export interface NsConfigInfo {
  systemtype: SystemType;
  ipaddress: string | undefined;
  primaryip: string | undefined;
  configchanged: boolean;
  lastconfigsavetime: string | undefined;
  lastconfigchangedtime: string | undefined;
}

export interface HaNodeEntry {
  id: number;
  ipaddress: string | undefined;
  /** Primary | Secondary | UNKNOWN … as the appliance reports it. */
  state: string | undefined;
  hastatus: string | undefined;
  hasync: string | undefined;
}

export interface HaNodeObservation {
  url: string;
  reachable: boolean;
  error?: string;
  nsconfig?: NsConfigInfo;
  /** hanode id 0: the node we are connected to. */
  self?: HaNodeEntry;
  /** hanode entries other than id 0 (the peer of an HA pair). */
  peers: HaNodeEntry[];
}

export interface HaTarget {
  appliance: string;
  mode: 'standalone' | 'ha' | 'cluster';
  /** Base URL of the node writes go to. */
  primaryUrl: string;
  /** Base URL of the secondary when it was given and answered. */
  secondaryUrl: string | undefined;
  /** The peer's HA sync state as the primary reports it (e.g. SUCCESS, IN PROGRESS). */
  peerSync: string | undefined;
  peerState: string | undefined;
  nodes: HaNodeObservation[];
  /** Things the plan should show (secondary not given or unreachable, sync not healthy). */
  notes: string[];
}

function str(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v);
}

export function toNsConfig(rec: Record<string, unknown>): NsConfigInfo {
  const cc = rec.configchanged;
  return {
    systemtype: str(rec.systemtype) ?? 'Stand-alone',
    ipaddress: str(rec.ipaddress),
    primaryip: str(rec.primaryip),
    configchanged: cc === true || cc === 'true' || cc === 'YES' || cc === 1,
    lastconfigsavetime: str(rec.lastconfigsavetime),
    lastconfigchangedtime: str(rec.lastconfigchangedtime),
  };
}

function toHaNode(rec: Record<string, unknown>): HaNodeEntry {
  return {
    id: Number(rec.id ?? 0),
    ipaddress: str(rec.ipaddress),
    state: str(rec.state),
    hastatus: str(rec.hastatus),
    hasync: str(rec.hasync),
  };
}

/** Read `nsconfig` and `hanode` of one node, pinned to that node (no failover logic). */
export async function observeNode(client: NitroClient, url: string): Promise<HaNodeObservation> {
  try {
    const ns = await client.get('nsconfig', undefined, undefined, { node: url, noFailover: true, attempts: 2 });
    const nsRec = ns.body.nsconfig;
    const nsconfig = toNsConfig((Array.isArray(nsRec) ? nsRec[0] : nsRec) as Record<string, unknown> ?? {});
    const ha = (await client.getList('hanode', undefined, undefined, { node: url, noFailover: true, attempts: 2 })) ?? [];
    const entries = ha.map(toHaNode);
    const self = entries.find((e) => e.id === 0);
    return { url, reachable: true, nsconfig, ...(self ? { self } : {}), peers: entries.filter((e) => e.id !== 0) };
  } catch (err) {
    // Wrong credentials or a failed TLS pin are not "node down": stop at once.
    if (err instanceof NitroError && err.exitCode === EXIT.invalidInput) throw err;
    if (err instanceof NitroError && err.httpStatus !== undefined && !err.hasCode(368, 1028)) throw err;
    return { url, reachable: false, error: err instanceof Error ? err.message : String(err), peers: [] };
  }
}

function isPrimary(o: HaNodeObservation): boolean {
  if (o.nsconfig?.systemtype === 'Stand-alone' || o.nsconfig?.systemtype === 'Cluster') return true;
  return (o.self?.state ?? '').toLowerCase() === 'primary';
}

/** Decide from the observations; pure so the rules are easy to read and test. */
export function choosePrimary(appliance: string, observations: HaNodeObservation[]): HaTarget {
  const reachable = observations.filter((o) => o.reachable);
  if (!reachable.length) {
    throw new AdcError(
      `${appliance}: no node answered: ${observations.map((o) => `${o.url}: ${o.error ?? 'no reply'}`).join('; ')}`,
      EXIT.invalidInput,
    );
  }
  const primaries = reachable.filter(isPrimary);
  if (primaries.length > 1) {
    throw new AdcError(
      `${appliance}: both ${primaries.map((p) => p.url).join(' and ')} claim to be the primary (split brain); fix the pair before any change`,
      EXIT.invalidInput,
    );
  }
  if (!primaries.length) {
    const hints = reachable
      .map((o) => `${o.url} is ${o.self?.state ?? 'not primary'}${o.nsconfig?.primaryip ? ` (primary reported at ${o.nsconfig.primaryip})` : ''}`)
      .join('; ');
    throw new AdcError(
      `${appliance}: no HA primary among the given NITRO URLs: ${hints}; list the primary's address in the inventory`,
      EXIT.invalidInput,
    );
  }
  const primary = primaries[0]!;
  const st = primary.nsconfig?.systemtype;
  const mode: HaTarget['mode'] = st === 'Cluster' ? 'cluster' : st === 'HA' || primary.peers.length ? 'ha' : 'standalone';
  const secondary = reachable.find((o) => o !== primary);
  const peer = primary.peers[0];
  const notes: string[] = [];
  if (mode === 'ha') {
    const unreachable = observations.filter((o) => !o.reachable);
    if (unreachable.length) notes.push(`${appliance}: secondary ${unreachable.map((o) => o.url).join(', ')} did not answer`);
    else if (!secondary) notes.push(`${appliance}: HA pair but only the primary's URL is known: file sync to the secondary cannot be verified`);
    const sync = (peer?.hasync ?? '').toUpperCase();
    if (peer && sync && !['SUCCESS', 'ENABLED'].includes(sync)) notes.push(`${appliance}: HA sync state is ${peer.hasync}`);
    if (peer && (peer.state ?? '').toLowerCase() !== 'secondary') notes.push(`${appliance}: peer state is ${peer.state ?? 'unknown'}`);
  }
  if (mode === 'cluster') notes.push(`${appliance}: cluster: configure through the cluster IP only`);
  return {
    appliance,
    mode,
    primaryUrl: primary.url,
    secondaryUrl: mode === 'ha' ? secondary?.url : undefined,
    peerSync: peer?.hasync,
    peerState: peer?.state,
    nodes: observations,
    notes,
  };
}

export async function resolveHaTarget(client: NitroClient, nodes: string[]): Promise<HaTarget> {
  const observations = await Promise.all(nodes.map((n) => observeNode(client, n)));
  return choosePrimary(client.appliance, observations);
}
