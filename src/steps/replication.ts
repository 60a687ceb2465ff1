// The replication guard. Writes go to one directory server; the appliances may read others (an
// AD site's own domain controller), which see each rewritten value only once replication has
// carried it there. Until every server the appliances use shows no device under a certificate,
// unbinding the key that holds it would lock out the users whose server still has the old value.
// So the census that decides an unbind runs against every server, and the forward unbind waits
// — with progress per server — up to `replicationTimeout`, then fails (and the run rolls back).
// A server that cannot be reached fails the guard unless `allowUnreachable` names it; rollbacks
// (putting the estate back as it was) note an unreachable server and go on, because it replicates
// from the server the rollback wrote to once it is back (docs/directory.md).
import { behindOn, type CensusResult, type KidCount, type StampVector } from '../directory/index.js';
import { AdcError, errorMessage } from '../errors.js';
import type { DirectoryServer } from '../playbook/inventory.js';
import type { StepContext } from '../runner/step.js';
import type { Estate } from './estate.js';
import type { StepDeps } from './facts.js';
import { censusThrough } from './kid-census.js';

export interface ServerCensus {
  server: string;
  census?: CensusResult;
  error?: string;
  /** Unreachable, and named in allowUnreachable. */
  allowed?: boolean;
}

/**
 * One server as the guard last read it, for the record (report.json, the HTML table): devices
 * under each certificate, and how long after the wait began it showed it had caught up.
 */
export type GuardServer = {
  server: string;
  /** Devices under the old / new certificate; null when the server could not be read. */
  old: number | null;
  new: number | null;
  /** Milliseconds from the start of the wait to the first census showing it caught up; null: it never did. */
  waitedMs: number | null;
  error: string | null;
  /** Unreachable, and named in allowUnreachable. */
  allowed: boolean;
};

/** A census over several servers: per KID, the server with the most devices (examples name it). */
export interface MergedCensus extends CensusResult {
  servers: ServerCensus[];
  /** awaitReplication only: servers still behind when it gave up (not strict). */
  behind?: string[];
}

/** What awaitReplication saw: the merged census, and each server's counts and wait. */
export interface ReplicationWait extends MergedCensus {
  perServer: GuardServer[];
}

export function allowedUnreachable(params: { allowUnreachable?: string | undefined }): string[] {
  return (params.allowUnreachable ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function timeoutMs(params: { replicationTimeout?: number | string | undefined }): number {
  const t = params.replicationTimeout ?? 900;
  if (typeof t === 'number') return t * 1000;
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(t);
  if (!m) return 900_000;
  return Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : 1000);
}

async function censusOn(estate: Estate, server: DirectoryServer, changeStamps: boolean): Promise<CensusResult> {
  return censusThrough(estate, await estate.connectServer(server), { changeStamps });
}

export async function censusEveryServer(estate: Estate, allowed: string[], opts: { changeStamps?: boolean } = {}): Promise<ServerCensus[]> {
  const servers = await estate.guardServers();
  return Promise.all(
    servers.map(async (s): Promise<ServerCensus> => {
      try {
        return { server: s.name, census: await censusOn(estate, s, opts.changeStamps ?? false) };
      } catch (err) {
        return { server: s.name, error: errorMessage(err), ...(allowed.includes(s.name) ? { allowed: true } : {}) };
      }
    }),
  );
}

export function mergeCensus(list: ServerCensus[]): MergedCensus {
  const read = list.filter((s) => s.census);
  if (read.length === 0) throw new AdcError(`no directory server could be read: ${list.map((s) => `${s.server}: ${s.error}`).join('; ')}`);
  const base = read[0].census!;
  const byKid = new Map<string, KidCount>();
  for (const s of read) {
    for (const k of s.census!.byKid) {
      const cur = byKid.get(k.kid);
      if (cur && cur.devices >= k.devices) continue;
      byKid.set(k.kid, { ...k, examples: (k.examples ?? []).map((dn) => (read.length > 1 ? `${dn} (on ${s.server})` : dn)) });
    }
  }
  return { ...base, byKid: [...byKid.values()], servers: list };
}

export function devicesUnder(c: CensusResult | undefined, kid: string): number {
  return c?.byKid.find((k) => k.kid === kid)?.devices ?? 0;
}

function describeBehind(s: ServerCensus, kid: string, which: 'old' | 'new', entriesThere: number, target: StampVector | undefined): string {
  const under = s.census?.byKid.find((k) => k.kid === kid)?.entries ?? 0;
  const missing = (s.census?.entries ?? 0) < entriesThere ? `, and ${s.census?.entries ?? 0} of the ${entriesThere} entries the server written to has` : '';
  const late = behindOn(s.census?.stamps, target).length ? ', and it has not yet received every change the server written to had when the wait began' : '';
  return `${s.server}: ${under.toLocaleString('en-US')} entries still under the ${which} certificate${missing}${late}`;
}

/** Unreachable servers that are not allowed: the guard fails on them. */
export function unreachableRefusal(list: ServerCensus[]): string | undefined {
  const bad = list.filter((s) => s.error && !s.allowed);
  if (bad.length === 0) return undefined;
  return `directory server(s) ${bad.map((s) => `${s.server} (${s.error})`).join(', ')} could not be read, so it is not proven that no user there is still under the certificate: not going on (name a server in --set allowUnreachable=… to accept it)`;
}

/**
 * Census every server until none shows a device under `which` that the server writes went to
 * does not show too (the replicas have caught up), or the timeout passes. Returns the merged
 * census at that moment, and how long each server took. `strict`: an unreachable server that is
 * not allowed throws; otherwise it is noted and left out.
 */
export async function awaitReplication(deps: StepDeps, ctx: StepContext, which: 'old' | 'new', opts: { strict: boolean; purpose: string }): Promise<ReplicationWait> {
  const { estate, params } = deps;
  const allowed = allowedUnreachable(params);
  const kid = estate.certs[which].km.kidText;
  const limit = timeoutMs(params);
  const started = Date.now();
  const caughtUp = new Map<string, number>();
  // What the server written to had when the wait began (our writes included): a replica has
  // caught up once it has all of it. Later changes (users enrolling) do not move the target.
  let target: StampVector | undefined;
  for (let round = 0; ; round++) {
    const list = await censusEveryServer(estate, allowed, { changeStamps: true });
    const refusal = unreachableRefusal(list);
    if (refusal && opts.strict) throw new AdcError(refusal);
    for (const s of list.filter((x) => x.error)) {
      if (round === 0) ctx.note('directory', `${s.server}: unreachable (${s.error})${s.allowed ? ' — accepted by allowUnreachable' : ''}; ${opts.purpose} goes on without it`, 'warn');
    }
    const dir = estate.inventory.directory;
    const writeName = dir.writeTo ?? dir.servers[0]?.name;
    const writer = list.find((s) => s.census && s.server === writeName) ?? list.find((s) => s.census);
    const floor = devicesUnder(writer?.census, kid);
    // Behind: more devices under the certificate than the server written to, or fewer entries
    // (a replica that has not got every user yet — an empty one would otherwise pass as "none").
    const entriesThere = writer?.census?.entries ?? 0;
    if (round === 0) target = writer?.census?.stamps;
    const behind = list.filter((s) => s.census && (devicesUnder(s.census, kid) > floor || s.census.entries < entriesThere || behindOn(s.census.stamps, target).length > 0));
    for (const s of list.filter((x) => x.census && !behind.includes(x) && !caughtUp.has(x.server))) caughtUp.set(s.server, Date.now() - started);
    const timedOut = behind.length > 0 && Date.now() - started >= limit;
    if (timedOut && opts.strict) {
      throw new AdcError(
        `${behind.map((s) => describeBehind(s, kid, which, entriesThere, target)).join('; ')} after replicationTimeout (${Math.round(limit / 1000)} s): replication has not carried the re-encryption there, so ${opts.purpose} would lock those users out (find out why the server does not replicate, or raise --set replicationTimeout=…)`,
      );
    }
    if (behind.length === 0 || timedOut || ctx.signal.aborted) {
      const waited = list
        .filter((s) => s.census)
        .map((s) => `${s.server} ${caughtUp.has(s.server) ? `after ${(caughtUp.get(s.server)! / 1000).toFixed(1)}s` : 'not caught up'}`)
        .join(', ');
      if (list.length > 1) {
        ctx.note(
          'directory',
          `census per server before ${opts.purpose}: ${list.map((s) => (s.census ? `${s.server}: ${devicesUnder(s.census, estate.certs.old.km.kidText)} old / ${devicesUnder(s.census, estate.certs.new.km.kidText)} new` : `${s.server}: unreachable${s.allowed ? ' (allowed)' : ''}`)).join('; ')} (replication: ${waited})`,
        );
      }
      const perServer = list.map((s): GuardServer => ({
        server: s.server,
        old: s.census ? devicesUnder(s.census, estate.certs.old.km.kidText) : null,
        new: s.census ? devicesUnder(s.census, estate.certs.new.km.kidText) : null,
        waitedMs: caughtUp.get(s.server) ?? null,
        error: s.error ?? null,
        allowed: s.allowed === true,
      }));
      return { ...mergeCensus(list), perServer, ...(behind.length ? { behind: behind.map((s) => s.server) } : {}) };
    }
    for (const s of behind) {
      ctx.note('directory', `${describeBehind(s, kid, which, entriesThere, target)} (waiting for replication, ${Math.round((Date.now() - started) / 1000)}s of ${Math.round(limit / 1000)}s)`);
    }
    ctx.progress('directory', { done: list.length - behind.length, total: list.length, detail: `waiting for ${behind.map((s) => s.server).join(', ')} to replicate` });
    await new Promise((r) => setTimeout(r, Math.min(2000, Math.max(250, limit / 20))));
  }
}
