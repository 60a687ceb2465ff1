// Which node of an appliance to talk to. Writes must go to the HA primary, a failover can
// happen mid-run, and a cluster node's NSIP must never be configured directly.
import { AdcError, EXIT } from '../errors.js';
import { NitroError, NOT_PRIMARY_CODES } from './errors.js';
import { NitroReplyShapeError, oneOf, optionalFlag, optionalNumber, optionalString } from './reply-shape.js';

/**
 * What reading a node's HA state asks of a client: reads pinned to one node that never follow a
 * failover. Declared here instead of importing NitroClient: the client resolves its primary with
 * this module, and the two files would otherwise import each other. NitroClient fits it as is.
 */
export interface PinnedNodeReader {
  readonly appliance: string;
  get(resource: string, name: undefined, query: undefined, opts: PinnedRead): Promise<{ body: Record<string, unknown> }>;
  getList(resource: string, name: undefined, query: undefined, opts: PinnedRead): Promise<Record<string, unknown>[] | undefined>;
}

interface PinnedRead {
  node: string;
  noFailover: true;
  attempts: number;
}

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

const SYSTEM_TYPES = ['Stand-alone', 'HA', 'Cluster'] as const;

/**
 * `nsconfig` as the decisions read it. systemtype decides which node takes the writes, so it must
 * be one the reference names (Stand-alone, HA, Cluster); configchanged, where present, must read
 * as true or false (absent: false — it only confirms a save after the fact).
 */
export function toNsConfig(rec: Record<string, unknown>, appliance = 'appliance'): NsConfigInfo {
  const r = 'nsconfig';
  const type = oneOf(appliance, r, rec, 'systemtype', SYSTEM_TYPES, true)!;
  return {
    systemtype: SYSTEM_TYPES.find((t) => t.toLowerCase() === type.toLowerCase()) ?? type,
    ipaddress: optionalString(appliance, r, rec, 'ipaddress'),
    primaryip: optionalString(appliance, r, rec, 'primaryip'),
    configchanged: optionalFlag(appliance, r, rec, 'configchanged') ?? false,
    lastconfigsavetime: optionalString(appliance, r, rec, 'lastconfigsavetime'),
    lastconfigchangedtime: optionalString(appliance, r, rec, 'lastconfigchangedtime'),
  };
}

/** The one nsconfig object of a reply (NITRO sends an object, some builds a one-item list). */
export function nsConfigRecord(appliance: string, body: Record<string, unknown>): Record<string, unknown> {
  const v = body.nsconfig;
  const rec: unknown = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
    throw new NitroReplyShapeError(appliance, 'nsconfig', 'the reply holds no nsconfig object', body);
  }
  return rec as Record<string, unknown>;
}

/**
 * One `hanode` row. id 0 is the node we are connected to (the reference); state is what the
 * primary choice reads: Primary, Secondary or UNKNOWN are documented, and any other string is
 * kept as it is — it is simply not "Primary", so that node never takes the writes.
 */
function toHaNode(appliance: string, rec: Record<string, unknown>): HaNodeEntry {
  const r = 'hanode';
  const id = optionalNumber(appliance, r, rec, 'id');
  if (id === undefined || !Number.isInteger(id) || id < 0) throw new NitroReplyShapeError(appliance, r, 'a row has no whole-number id', rec);
  return {
    id,
    ipaddress: optionalString(appliance, r, rec, 'ipaddress'),
    state: optionalString(appliance, r, rec, 'state'),
    hastatus: optionalString(appliance, r, rec, 'hastatus'),
    hasync: optionalString(appliance, r, rec, 'hasync'),
  };
}

/** Read `nsconfig` and `hanode` of one node, pinned to that node (no failover logic). */
export async function observeNode(client: PinnedNodeReader, url: string): Promise<HaNodeObservation> {
  try {
    const ns = await client.get('nsconfig', undefined, undefined, { node: url, noFailover: true, attempts: 2 });
    const nsconfig = toNsConfig(nsConfigRecord(client.appliance, ns.body), client.appliance);
    const ha = (await client.getList('hanode', undefined, undefined, { node: url, noFailover: true, attempts: 2 })) ?? [];
    const entries = ha.map((rec) => toHaNode(client.appliance, rec));
    const self = entries.find((e) => e.id === 0);
    return { url, reachable: true, nsconfig, ...(self ? { self } : {}), peers: entries.filter((e) => e.id !== 0) };
  } catch (err) {
    // Wrong credentials or a failed TLS pin are not "node down": stop at once.
    if (err instanceof NitroError && err.exitCode === EXIT.invalidInput) throw err;
    if (err instanceof NitroError && err.httpStatus !== undefined && !err.hasCode(...NOT_PRIMARY_CODES)) throw err;
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
    throw new AdcError(`${appliance}: no node answered: ${observations.map((o) => `${o.url}: ${o.error ?? 'no reply'}`).join('; ')}`, EXIT.invalidInput);
  }
  const primaries = reachable.filter(isPrimary);
  if (primaries.length > 1) {
    throw new AdcError(`${appliance}: both ${primaries.map((p) => p.url).join(' and ')} claim to be the primary (split brain); fix the pair before any change`, EXIT.invalidInput);
  }
  if (!primaries.length) {
    const hints = reachable.map((o) => `${o.url} is ${o.self?.state ?? 'not primary'}${o.nsconfig?.primaryip ? ` (primary reported at ${o.nsconfig.primaryip})` : ''}`).join('; ');
    throw new AdcError(`${appliance}: no HA primary among the given NITRO URLs: ${hints}; list the primary's address in the inventory`, EXIT.invalidInput);
  }
  const primary = primaries[0];
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

export async function resolveHaTarget(client: PinnedNodeReader, nodes: string[]): Promise<HaTarget> {
  const observations = await Promise.all(nodes.map((n) => observeNode(client, n)));
  return choosePrimary(client.appliance, observations);
}
