// The lock on an estate: what identifies one (its appliances and its directory, never the file
// that describes them), and the lock each appliance carries for every runner on every host.
//
// The appliance lock is a file, /nsconfig/ssl/adc-cutover.lock, uploaded on the HA primary with
// NITRO `systemfile`. An upload never overwrites (1642 "file already exists"), so the upload is
// an atomic create-if-absent: whoever's upload is accepted holds the estate. /nsconfig/ssl is the
// one location the NITRO reference documents for systemfile (docs/fidelity.md) and the one every firmware accepts; the
// HA file sync copies it to the secondary, so after a failover the new primary still shows the
// lock. Releasing deletes it on the primary and, on an HA pair, syncs the files again so that
// the secondary's copy goes too. The content names run, host, pid, user and time (no secret).
import { createHash } from 'node:crypto';
import { AdcError, EXIT, errorMessage, InputError } from '../errors.js';
import { awaitChange, deleteSystemFile, NITRO_CODE, NitroError, NitroOutcomeUnknownError, NitroUnreachableError, readSystemFile, SSL_DIR, syncSslFiles, uploadSystemFile } from '../nitro/index.js';
import type { EstateId, LockHolder } from '../runner/lock.js';
import type { ApplianceHandle } from '../steps/estate.js';
import { nodesOf, type Inventory } from '../playbook/inventory.js';

export const LOCK_FILE = 'adc-cutover.lock';
const LOCK_PATH = `${SSL_DIR}/${LOCK_FILE}`;

/** ldap: and ldaps: are not "special" schemes to the URL parser: it keeps their default port. */
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ldap:': '389', 'ldaps:': '636' };

/** Host (and port, when not the protocol's default) in lower case: the same node however written. */
function nodeOf(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port && u.port !== DEFAULT_PORTS[u.protocol] ? `:${u.port}` : '';
    return `${u.hostname.toLowerCase()}${port}`;
  } catch {
    return url.trim().toLowerCase();
  }
}

function normalDn(dn: string): string {
  return dn
    .split(',')
    .map((rdn) =>
      rdn
        .split('=')
        .map((p) => p.trim())
        .join('='),
    )
    .join(',')
    .toLowerCase();
}

/**
 * The estate an inventory describes: every NITRO node (both of an HA pair), sorted, and the
 * directory server and base. Two inventories for the same appliances and users (copies, a
 * symlink, another checkout) get the same key.
 */
export function estateId(inv: Inventory): EstateId {
  const nodes = [...new Set(inv.appliances.flatMap((a) => nodesOf(a).map(nodeOf)))].sort();
  const directory = `${nodeOf(inv.directory.url)}/${normalDn(inv.directory.base)}`;
  const key = createHash('sha256').update(JSON.stringify({ nodes, directory })).digest('hex').slice(0, 32);
  return { key, label: `the estate ${inv.appliances.map((a) => a.name).join(', ')} + ${inv.directory.url} ${inv.directory.base}` };
}

interface LockContent extends LockHolder {
  tool: string;
  estate: string;
}

function parseLock(bytes: Buffer): LockContent | { unreadable: string } {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Partial<LockContent>;
    if (typeof v.runId === 'string' && typeof v.pid === 'number') {
      return { tool: String(v.tool ?? '?'), runId: v.runId, pid: v.pid, host: String(v.host ?? '?'), user: String(v.user ?? '?'), time: String(v.time ?? '?'), estate: String(v.estate ?? '') };
    }
  } catch {
    // Not ours: reported as it is.
  }
  return { unreadable: bytes.toString('utf8').slice(0, 80).replace(/\s+/g, ' ') };
}

function describe(h: LockContent | { unreadable: string }): string {
  return 'unreadable' in h ? `a file that is not an adc-cutover lock ("${h.unreadable}")` : `run ${h.runId} (host ${h.host}, pid ${h.pid}, user ${h.user}, since ${h.time})`;
}

export interface ApplianceLocks {
  /** Notes for the journal: locks taken over or broken. */
  notes: { target: string; message: string }[];
  /** Remove every lock taken; never throws. Returns what went wrong, in words for the operator. */
  release(): Promise<string[]>;
}

export interface LockOptions {
  runId: string;
  breakLock: boolean;
  /**
   * Refuse when an appliance answers the lock with an error (a run, a resume: nothing has changed
   * yet, and a run that cannot write the lock could not write the rest either). A rollback goes
   * on without that appliance's lock instead: undoing what can be undone matters more.
   */
  strict: boolean;
}

/**
 * Take the lock on every appliance (on its primary), before the first change. A lock of the same
 * run (a resume or rollback after a crash) is taken over; another run's refuses with exit 2 and
 * names it, unless `breakLock` (the operator knows that run is gone). An appliance that cannot be
 * reached is left unlocked, with a note: nothing can change it while it cannot be reached, and
 * the steps find out about it with the failure budget's rules.
 */
export async function lockAppliances(appliances: readonly ApplianceHandle[], holder: LockHolder, estate: EstateId, opts: LockOptions): Promise<ApplianceLocks> {
  const content: LockContent = { tool: 'adc-cutover', ...holder, estate: estate.label };
  const bytes = Buffer.from(`${JSON.stringify(content)}\n`, 'utf8');
  const taken: ApplianceHandle[] = [];
  const notes: ApplianceLocks['notes'] = [];
  const release = async (): Promise<string[]> => {
    const left: string[] = [];
    for (const a of [...taken].reverse()) {
      const problem = await releaseOne(a, content).catch((err: unknown) => `${a.name}: ${errorMessage(err)}`);
      if (problem) left.push(problem);
    }
    return left;
  };
  try {
    for (const a of appliances) {
      let said: string[];
      try {
        said = await takeOne(a, bytes, content, opts);
      } catch (err) {
        const refusedByHolder = err instanceof InputError;
        const unreachable = err instanceof AdcError && err.cause instanceof NitroUnreachableError;
        if (refusedByHolder || (opts.strict && !unreachable)) throw err;
        notes.push({ target: a.name, message: `NOT LOCKED: ${errorMessage(err).replace(/\. Nothing was changed.*$/s, '')}; the run goes on without this appliance's lock` });
        continue;
      }
      notes.push(...said.map((message) => ({ target: a.name, message })));
      taken.push(a);
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { notes, release };
}

const ours =
  (content: LockContent) =>
  (h: LockContent | { unreadable: string } | undefined): boolean =>
    h !== undefined && !('unreadable' in h) && h.runId === content.runId && h.pid === content.pid && h.host === content.host;

async function readLock(a: ApplianceHandle): Promise<LockContent | { unreadable: string } | undefined> {
  const bytes = await readSystemFile(a.client, LOCK_FILE);
  return bytes === undefined ? undefined : parseLock(bytes);
}

async function takeOne(a: ApplianceHandle, bytes: Buffer, content: LockContent, opts: { breakLock: boolean; runId: string }): Promise<string[]> {
  const notes: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await uploadSystemFile(a.client, LOCK_FILE, bytes);
      return notes;
    } catch (err) {
      if (err instanceof NitroOutcomeUnknownError) {
        // No reply: the upload may have landed (or may still). Ours there means held.
        await awaitChange(err, `the lock ${LOCK_PATH} on ${a.name}`, () => readLock(a), ours(content)).catch((e: unknown) => {
          throw new AdcError(
            `${a.name}: cannot take the run lock ${LOCK_PATH}: ${errorMessage(e)}. Nothing was changed; if the lock shows up later, it names this run (${content.runId}): repeat with --break-lock`,
            EXIT.invalidInput,
            { cause: e },
          );
        });
        return notes;
      }
      if (!(err instanceof NitroError && err.hasCode(NITRO_CODE.fileExists))) {
        throw new AdcError(`${a.name}: cannot take the run lock ${LOCK_PATH}: ${errorMessage(err)}. Nothing was changed`, EXIT.invalidInput, { cause: err });
      }
    }
    const held = await readLock(a).catch((err: unknown) => {
      throw new AdcError(`${a.name}: the run lock ${LOCK_PATH} exists and cannot be read: ${errorMessage(err)}. Nothing was changed`, EXIT.invalidInput, { cause: err });
    });
    if (held === undefined) continue; // released between our upload and our read: try again
    const sameRun = !('unreadable' in held) && held.runId === opts.runId;
    if (!sameRun && !opts.breakLock) {
      const id = 'unreadable' in held ? '<run-id>' : held.runId;
      throw new InputError(
        `${a.name}: the estate is locked by ${describe(held)} (${LOCK_PATH} on the appliance). ` +
          'If that run is still working, wait for it. If it was killed, go on with it from its working directory: ' +
          `'adc-cutover resume ${id}' or 'adc-cutover rollback ${id}' take its lock over. ` +
          'If you know no run is working on this estate, repeat with --break-lock. Nothing was changed',
      );
    }
    await deleteSystemFile(a.client, LOCK_FILE).catch((err: unknown) => {
      throw new AdcError(`${a.name}: cannot remove the lock of ${describe(held)}: ${errorMessage(err)}. Nothing was changed`, EXIT.invalidInput, { cause: err });
    });
    notes.push(sameRun ? `took over this run's own lock ${LOCK_PATH}, left by ${describe(held)}` : `--break-lock: removed the lock ${LOCK_PATH} of ${describe(held)}`);
  }
  throw new InputError(`${a.name}: could not take the run lock ${LOCK_PATH}: another run keeps taking it. Nothing was changed`);
}

async function releaseOne(a: ApplianceHandle, content: LockContent): Promise<string | undefined> {
  let held: LockContent | { unreadable: string } | undefined;
  try {
    held = await readLock(a);
    if (held !== undefined && ours(content)(held)) await deleteSystemFile(a.client, LOCK_FILE);
  } catch (err) {
    return `${a.name}: the run lock ${LOCK_PATH} could not be removed (${errorMessage(err)}); the next run on this estate is refused until it is gone: delete it on the appliance, or run with --break-lock once you know no run is working on this estate`;
  }
  if (held !== undefined && !ours(content)(held)) return `${a.name}: ${LOCK_PATH} now names ${describe(held)}, not this run: left in place`;
  // The HA file sync may have copied the lock to the secondary (and after a failover the old
  // primary, secondary now, may hold the original): copy the primary's files over once more, so
  // that no failover brings back the lock of a run that has ended.
  if (nodesOf(a.spec).length > 1 || a.client.target?.mode === 'cluster') {
    try {
      await syncSslFiles(a.client);
    } catch (err) {
      return `${a.name}: the run lock was removed, but the SSL file sync to the other node failed (${errorMessage(err)}): it keeps a copy of the lock until the appliance's next automatic file sync`;
    }
  }
  return undefined;
}
