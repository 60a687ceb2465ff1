// Taking back the binds of the new key, fleet-wide. While the new key is bound and the most
// recently bound one, the gateway encrypts every registration under it, so devices keep arriving
// under the new certificate until the last appliance lets it go. Unbinding it appliance by
// appliance, each after its own census, loses that race: an appliance that drops it cannot read
// what users keep enrolling through one that still has it. So the decision is made once for the
// fleet: the old key is back everywhere first; then the devices under the new certificate are
// moved to the old one (this run's backups put back first, so rewritten entries get their
// original bytes) until a census shows none; then the new key is unbound everywhere, back to
// back. If enrolments keep winning, or the old key is not back on every appliance, the new key
// stays bound on every appliance that has it (exit 3) and a later rollback tries again; the
// check at the end (safety-check.ts) moves any device that raced the last unbind.
import type { CensusResult } from '../directory/index.js';
import { bindUserDataEncryptionKey, getCertkey, isBindingRefusal, listUserDataEncryptionKeys, unbindUserDataEncryptionKey } from '../nitro/index.js';
import type { ChangeRecord, RollbackResult, StepContext } from '../runner/step.js';
import { restoreKeys } from './binding-check.js';
import type { ChangeOf } from './records.js';
import type { ApplianceHandle } from './estate.js';
import type { StepDeps } from './facts.js';
import { describeError } from './fleet.js';
import { boundKeys, directoryDevices, kidOf } from './invariant.js';
import { awaitReplication } from './replication.js';
import { moveDevices, runBackups } from './sweep.js';
import { undoEach, type UndoOutcome as Outcome } from './undo.js';

/** Rounds of "move what is under the new certificate, count again" before giving up for now. */
const MOVE_ROUNDS = 5;

interface ToUnbind {
  a: ApplianceHandle;
  r: ChangeOf<'bind'>;
  key: string;
  /** What was done on this appliance before (the keys bound back first), for the message. */
  before: string;
}

export async function rollbackNewKeyBinds(deps: StepDeps, ctx: StepContext, records: ChangeRecord[]): Promise<RollbackResult[]> {
  const pending: ToUnbind[] = [];
  const first = await undoEach(deps, ctx, records, 'bind', async (a, r) => {
    const o = await prepare(deps, a, r);
    if ('unbind' in o) {
      pending.push({ a, r, key: r.data.certkey, before: o.unbind });
      return { status: 'failed', message: 'waiting for the fleet-wide unbind' };
    }
    return o;
  });
  if (pending.length === 0) return first;
  const done = await unbindEverywhere(deps, ctx, pending);
  return first.map((x) => (x.id !== undefined && done.has(x.id) ? { ...x, ...done.get(x.id)! } : x));
}

/** What this appliance needs before the fleet-wide unbind, or its whole outcome when it needs none. */
async function prepare(deps: StepDeps, a: ApplianceHandle, r: ChangeOf<'bind'>): Promise<Outcome | { unbind: string }> {
  const key = r.data.certkey;
  if (r.data.boundBefore.includes(key)) return { status: 'not-needed', message: `${key} was bound before this run: kept` };
  if (r.done?.applied === false) return { status: 'not-needed', message: `${key} was never bound by this run` };
  const now = await listUserDataEncryptionKeys(a.client);
  if (!now.includes(key)) {
    // A bind still in flight needs the certkey: once it is gone, the appliance refuses the bind.
    const gone = (await getCertkey(a.client, key)) === undefined;
    return { status: 'not-needed', message: `${key} was not bound${gone ? ' (and its certkey is gone, so no bind of it can land)' : ''}`, ...(gone ? { settled: true } : {}) };
  }
  const keep = deps.facts.keepNewKey;
  if (keep.length) return { status: 'failed', message: `${key} kept bound: ${keep.map((k) => k.why).join('; ')}` };
  const missing = restoreKeys(r).filter((k) => !now.includes(k));
  if (missing.length === 0) return { unbind: '' };
  if (!now.every((k) => k === key)) return { unbind: '' };
  return swapBack(deps, a, key, missing);
}

/**
 * The new key is the only one bound and the keys it replaced are not back (a swap, or their undo
 * failed): unbinding it first would leave vpn global with none. Where the firmware holds two, the
 * old keys are bound back first (the unbind then joins the fleet's); where it refuses a second
 * binding, it swaps back at once (unbind, bind) — the same short window the swap itself had.
 *
 * The swap is the one unbind of a rollback that does not ask the census first, because no answer
 * could make it safe: the appliance takes one key, and devices sit under both certificates (under
 * the old one what this rollback has put back or is about to, under the new one what users
 * enrolled meanwhile). Keeping the new key strands the first, swapping strands the second, and
 * between the unbind and the bind the appliance has no key at all — the outage of a swap, as in
 * the forward direction. What ends it is the rest of the rollback: the directory restore, and the
 * check at the end (safety-check.ts), which moves what is still under the new certificate once
 * every appliance holds the old one. docs/reliability.md ("The invariant") names this exception.
 */
async function swapBack(deps: StepDeps, a: ApplianceHandle, key: string, missing: string[]): Promise<Outcome | { unbind: string }> {
  try {
    for (const k of missing) await bindUserDataEncryptionKey(a.client, k);
    return { unbind: `${missing.join(', ')} bound again first, then ` };
  } catch (err) {
    // Unbind first only where the firmware is not known to hold two keys, the refusal is about
    // the binding (not a missing certkey or the appliance's state), and the keys to bind back
    // exist: otherwise the unbind would leave vpn global with none and no way back.
    const multi = deps.facts.appliances.get(a.name)?.capability === 'multi';
    const present = !multi && isBindingRefusal(err) && (await Promise.all(missing.map((k) => getCertkey(a.client, k)))).every(Boolean);
    if (!present) {
      return {
        status: 'failed',
        message: `${key} is the only key bound, and binding ${missing.join(', ')} back first failed (${describeError(err)}): ${key} kept, or the appliance would have none. 'bind vpn global -userDataEncryptionKey ${missing[0]}', then 'unbind vpn global -userDataEncryptionKey ${key}'`,
      };
    }
    await unbindUserDataEncryptionKey(a.client, key);
    deps.facts.keyUnboundAt = Date.now();
    try {
      let now: string[] = [];
      for (const k of missing) now = (await bindUserDataEncryptionKey(a.client, k)).bound;
      return { status: 'undone', message: `one binding at a time: ${key} unbound, then ${missing.join(', ')} bound again (bound now: ${now.join(', ')})`, bound: now };
    } catch (err2) {
      return {
        status: 'failed',
        message: `${key} unbound to swap back, but binding ${missing.join(', ')} failed (${describeError(err2)}): vpn global has NO userDataEncryptionKey — 'bind vpn global -userDataEncryptionKey ${missing[0]}' now`,
      };
    }
  }
}

async function unbindEverywhere(deps: StepDeps, ctx: StepContext, pending: ToUnbind[]): Promise<Map<number, Outcome>> {
  const { estate } = deps;
  const out = new Map<number, Outcome>();
  const keepAll = (why: string) => {
    // A hold, like the one the unbind's undo sets: the binding check after the rollback must
    // not take the key still bound for a late write and unbind it after all.
    for (const p of pending) deps.facts.keepNewKey.push({ appliance: p.a.name, why });
    for (const p of pending) out.set(p.r.id, { status: 'failed', message: `${p.before}${p.key} kept bound (on every appliance that has it): ${why}; run 'adc-cutover rollback ${ctx.runId}' again` });
    return out;
  };
  let moved = 0;
  let backups = runBackups(ctx.runDir);
  for (let round = 0; ; round++) {
    // First, replicas may still hold values under the new certificate that the rollback already
    // put back on the server it writes to: wait for them before judging (replication.ts).
    const census: CensusResult & { behind?: string[] } =
      round === 0 ? await awaitReplication(deps, ctx, 'new', { strict: false, purpose: `unbinding ${[...new Set(pending.map((p) => p.key))].join(', ')}` }) : await directoryDevices(estate);
    // A replica that has not caught up may still receive the re-encryption before the restore
    // that undoes it: until it has both, users reading it need the new key.
    if (census.behind?.length)
      return keepAll(`directory server(s) ${census.behind.join(', ')} had not caught up with the restore after replicationTimeout, and may still receive values under the new certificate`);
    const under = census.byKid.find((k) => k.kid === kidOf(estate, 'new'));
    if (!under || under.devices === 0) break;
    const bound = await Promise.all(estate.appliances.map((x) => boundKeys(estate, x)));
    const lacking = bound.filter((b) => !b.holds.has('old')).map((b) => b.appliance);
    if (lacking.length)
      return keepAll(
        `${under.devices} device(s) of ${under.entries} user(s) are under the new certificate (e.g. ${(under.examples ?? []).slice(0, 3).join('; ')}) and the old key is not bound on ${lacking.join(', ')} to move them to`,
      );
    if (round === MOVE_ROUNDS)
      return keepAll(`users kept enrolling under it: ${under.devices} device(s) still under the new certificate after ${MOVE_ROUNDS} rounds of moving them (${moved} entries moved)`);
    const m = await moveDevices(deps, ctx, 'new', 'old', 'before unbinding the new key', backups);
    backups = [];
    moved += m.changed;
  }
  const movedWords = moved ? `${moved} entr(ies) moved from the new certificate to the old one first; ` : '';
  // No device under the new certificate now: unbind it everywhere at once, giving enrolments the
  // shortest window to race (the check at the end moves any that did).
  for (const p of pending) {
    try {
      if (leavesNoKey(p.key, await listUserDataEncryptionKeys(p.a.client), restoreKeys(p.r))) {
        out.set(p.r.id, { status: 'failed', message: `${p.before}${p.key} kept bound: it is the only userDataEncryptionKey on ${p.a.name}, and unbinding it would leave none` });
        continue;
      }
      const u = await unbindUserDataEncryptionKey(p.a.client, p.key);
      deps.facts.keyUnboundAt = Date.now();
      out.set(p.r.id, { status: 'undone', message: `${p.before}${movedWords}${p.key} unbound (bound now: ${u.bound.join(', ') || 'none'})`, bound: u.bound });
    } catch (err) {
      out.set(p.r.id, { status: 'failed', message: `${p.before}unbinding ${p.key} failed: ${describeError(err)}` });
    }
  }
  return out;
}

/**
 * Whether unbinding `key` now would take the last userDataEncryptionKey from an appliance that had
 * one before the run (`restore`: the keys it held then). A rollback never does that: with OTP
 * encryption ON, registration breaks and nobody's devices can be read. An appliance that had none
 * before the run may end with none: that is exactly as before. Read live just before the unbind,
 * since the old key may have gone since the rollback looked (another admin, a late write).
 */
export function leavesNoKey(key: string, boundNow: readonly string[], restore: readonly string[]): boolean {
  return restore.length > 0 && boundNow.every((k) => k === key);
}
