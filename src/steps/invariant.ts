// The product's core promise, in one place: on every appliance, every device in the directory is
// readable by a certificate bound there as userDataEncryptionKey. A device under a KID that no
// bound key holds cannot be read by the gateway, and that user cannot log on (docs/otp-format.md: no
// fallback). Checked before any unbind (forward or in a rollback), before saving, and at the end
// of every run, rollback and resume (docs/reliability.md, "The invariant").
//
// What it judges: devices under the two certificates this run manages (the old and the new one),
// found by a census of the whole directory — entries this run never touched included, since
// users enrol while it runs. Legacy plaintext is readable by every appliance. Devices under a
// certificate we were not given were there before the run and are named by preflight; they are
// outside what the run can change, so they are reported, not judged.
import type { CensusResult } from '../directory/index.js';
import { censusThrough } from './kid-census.js';
import { errorMessage } from '../errors.js';
import { certFactsFromCert, compareCertkey, getCertkey, listUserDataEncryptionKeys, type LocalCertFacts } from '../nitro/index.js';
import type { ApplianceHandle, Estate } from './estate.js';
import type { StepDeps } from './facts.js';
import { censusEveryServer, mergeCensus } from './replication.js';

export type Which = 'old' | 'new';

/** The userDataEncryptionKeys bound on one appliance, and which of our certificates each holds. */
export interface BoundKeys {
  appliance: string;
  certkeys: string[];
  /** Our certificates that a bound certkey holds. */
  holds: Set<Which>;
  /** Bound certkeys that hold neither of our certificates. */
  others: string[];
  /** Which of our certificates each bound certkey holds (absent: neither). */
  byCertkey: Map<string, Which>;
}

export interface LockedOut {
  appliance: string;
  certificate: Which;
  kid: string;
  devices: number;
  entries: number;
  /** A few of the users (DNs) concerned. */
  examples: string[];
  /** The appliance was left out within the failure budget (the operator accepted this). */
  leftOut: boolean;
}

export interface InvariantVerdict {
  holds: boolean;
  lockedOut: LockedOut[];
  /** Appliances whose bindings could not be read: the invariant is not proven there. */
  unread: { appliance: string; error: string }[];
  /** Devices per certificate, for the report. */
  devices: Record<Which, number>;
  message: string;
}

/**
 * Devices per certificate across the whole directory, with a few DNs each. With several
 * directory servers, every one the appliances use is read and, per certificate, the server
 * holding the most devices counts (src/steps/replication.ts); a server that cannot be read is
 * left out here — the forward unbind refuses it through awaitReplication instead.
 */
export async function directoryDevices(estate: Estate): Promise<CensusResult> {
  const servers = await estate.guardServers();
  if (servers.length > 1) return mergeCensus(await censusEveryServer(estate, []));
  return censusThrough(estate, await estate.directory());
}

/**
 * Which of our certificates the certkeys bound on `a` hold, read live. A certkey is identified
 * by what the appliance reports about it compared with the local certificate (serial, subject,
 * issuer, validity, digest), never by its name alone: names are free text a run may not own.
 */
export async function boundKeys(estate: Estate, a: ApplianceHandle): Promise<BoundKeys> {
  const certkeys = await listUserDataEncryptionKeys(a.client);
  const facts = localFacts(estate);
  const holds = new Set<Which>();
  const others: string[] = [];
  const byCertkey = new Map<string, Which>();
  for (const name of certkeys) {
    const info = await getCertkey(a.client, name);
    const which = info ? (['old', 'new'] as const).find((w) => compareCertkey(info, facts[w]).length === 0) : undefined;
    if (which) {
      holds.add(which);
      byCertkey.set(name, which);
    } else others.push(name);
  }
  return { appliance: a.name, certkeys, holds, others, byCertkey };
}

const factsCache = new WeakMap<Estate, Record<Which, LocalCertFacts>>();
function localFacts(estate: Estate): Record<Which, LocalCertFacts> {
  let f = factsCache.get(estate);
  if (!f) {
    f = { old: certFactsFromCert(estate.certs.old.km.certPem), new: certFactsFromCert(estate.certs.new.km.certPem) };
    factsCache.set(estate, f);
  }
  return f;
}

export function kidOf(estate: Estate, which: Which): string {
  return estate.certs[which].km.kidText;
}

function devicesUnder(c: CensusResult, kid: string): { devices: number; entries: number; examples: string[] } {
  const k = c.byKid.find((x) => x.kid === kid);
  return { devices: k?.devices ?? 0, entries: k?.entries ?? 0, examples: k?.examples ?? [] };
}

/** Judge the invariant from bindings and a census already read. */
export function judge(estate: Estate, bound: BoundKeys[], c: CensusResult, leftOut: ReadonlySet<string>, unread: InvariantVerdict['unread'] = []): InvariantVerdict {
  const lockedOut: LockedOut[] = [];
  for (const b of bound) {
    for (const which of ['old', 'new'] as const) {
      const d = devicesUnder(c, kidOf(estate, which));
      if (d.devices === 0 || b.holds.has(which)) continue;
      lockedOut.push({ appliance: b.appliance, certificate: which, kid: kidOf(estate, which), ...d, leftOut: leftOut.has(b.appliance) });
    }
  }
  const devices = { old: devicesUnder(c, kidOf(estate, 'old')).devices, new: devicesUnder(c, kidOf(estate, 'new')).devices };
  const holds = lockedOut.length === 0 && unread.length === 0;
  return { holds, lockedOut, unread, devices, message: holds ? holdsMessage(bound, devices) : describeBreach(estate, lockedOut, unread) };
}

/** Read every appliance's bindings and the directory, and judge. Never throws: a read failure is "not proven". */
export async function checkInvariant(deps: StepDeps): Promise<InvariantVerdict> {
  const { estate } = deps;
  const bound: BoundKeys[] = [];
  const unread: InvariantVerdict['unread'] = [];
  for (const a of estate.appliances) {
    try {
      await a.client.recheckPrimary().catch(() => undefined);
      bound.push(await boundKeys(estate, a));
    } catch (err) {
      unread.push({ appliance: a.name, error: errorMessage(err) });
    }
  }
  let c: CensusResult;
  try {
    c = await directoryDevices(estate);
  } catch (err) {
    return {
      holds: false,
      lockedOut: [],
      unread: [...unread, { appliance: 'directory', error: errorMessage(err) }],
      devices: { old: 0, new: 0 },
      message: `the directory could not be read to prove that every user can still log on: ${errorMessage(err)}`,
    };
  }
  return judge(estate, bound, c, deps.facts.excluded, unread);
}

/**
 * Why unbinding `certkey` from `a` would lock users out, or undefined when it would not: some
 * device is under the certificate it holds, and no other key left bound there holds the same one.
 */
export async function unbindBreach(estate: Estate, a: ApplianceHandle, certkey: string, c: CensusResult): Promise<string | undefined> {
  const b = await boundKeys(estate, a);
  const which = b.byCertkey.get(certkey);
  // Not bound, or not one of ours: devices under it are outside what the run judges.
  if (!which) return undefined;
  if (b.certkeys.some((k) => k !== certkey && b.byCertkey.get(k) === which)) return undefined;
  const d = devicesUnder(c, kidOf(estate, which));
  if (d.devices === 0) return undefined;
  return `${d.devices} device(s) of ${d.entries} user(s) are under the ${which} certificate that ${certkey} holds (KID ${kidOf(estate, which)}), e.g. ${d.examples.slice(0, 3).join('; ')}: unbinding it would lock them out on ${a.name}`;
}

function holdsMessage(bound: BoundKeys[], devices: Record<Which, number>): string {
  const keys = bound.map((b) => `${b.appliance}: ${b.certkeys.join(', ') || 'none'}`).join('; ');
  return `every device is readable by a key bound on every appliance (${devices.old} under the old certificate, ${devices.new} under the new; bound — ${keys})`;
}

function describeBreach(estate: Estate, lockedOut: LockedOut[], unread: InvariantVerdict['unread']): string {
  const parts = lockedOut.map((l) => {
    const subject = estate.certs[l.certificate].km.subject;
    return `${l.appliance}${l.leftOut ? ' (left out within the failure budget)' : ''}: ${l.devices} device(s) of ${l.entries} user(s) are under the ${l.certificate} certificate (${subject}, KID ${l.kid}), which no key bound there holds — they cannot log on through it (e.g. ${l.examples.slice(0, 5).join('; ')}${l.entries > 5 ? '; …' : ''})`;
  });
  for (const u of unread) parts.push(`${u.appliance}: could not be read (${u.error}), so it is not proven that users can log on through it`);
  return parts.join('. ');
}
