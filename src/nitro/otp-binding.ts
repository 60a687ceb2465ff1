// `bind vpn global -userDataEncryptionKey X`: the certkey(s) Native OTP uses to encrypt secrets.
// Current firmware keeps several bound (the last one encrypts new registrations); older builds
// hold one at a time. Every write here is followed by a read, and an unknown outcome is settled
// by reading the list until the change shows or the appliance has had time to finish (settle.ts).
import { AdcError } from '../errors.js';
import type { NitroClient } from './client.js';
import {
  ABSENT_CODES,
  BAD_LOGIN_CODES,
  BUSY_CODES,
  CERTIFICATE_CODES,
  CLUSTER_NSIP_CODES,
  HA_PROPAGATION_CODES,
  NITRO_CODE,
  NOT_PRIMARY_CODES,
  NitroError,
  NitroOutcomeUnknownError,
  SESSION_CODES,
} from './errors.js';
import { NitroReplyShapeError, optionalString } from './reply-shape.js';
import { awaitChange } from './settle.js';

const NOT_FIRMWARE_CODES = [...HA_PROPAGATION_CODES, ...BUSY_CODES, ...NOT_PRIMARY_CODES, ...CLUSTER_NSIP_CODES, ...SESSION_CODES, ...BAD_LOGIN_CODES];

const RESOURCE = 'vpnglobal_sslcertkey_binding';

/**
 * A refusal that says "not like this" about the binding itself (firmware that holds one key, a
 * bad certkey): the appliance answered with an errorcode that is not about its state (HA, busy,
 * not primary, cluster node, session). Anything else says nothing about the firmware.
 */
export function isBindingRefusal(err: unknown): err is NitroError {
  return err instanceof NitroError && !(err instanceof NitroOutcomeUnknownError) && err.errorcode !== undefined && !err.hasCode(...NOT_FIRMWARE_CODES, ...NOT_A_REFUSAL_CODES);
}

/** "No such certkey" and "bad certificate" answers are about the certkey, never the firmware. */
const NOT_A_REFUSAL_CODES = [...ABSENT_CODES, ...CERTIFICATE_CODES];

/** Every binding vpn global lists, by kind, each in the order the appliance lists them. */
export interface VpnGlobalBindings {
  /** `userdataencryptionkey`: the certkeys Native OTP encrypts with. */
  userDataKeys: string[];
  /** `certkeyname`: server certificates (e.g. for signing tokens); never read as an OTP key. */
  serverCerts: string[];
  /** `cacert`: CA certificates. */
  caCerts: string[];
}

/** The fields that say what a row binds; a row must carry at least one of them. */
const ROW_KINDS = ['userdataencryptionkey', 'certkeyname', 'cacert'] as const;

/**
 * Classify the rows of a `vpnglobal_sslcertkey_binding` GET. Public sources disagree on what a
 * row carries: the NITRO reference suggests one of userdataencryptionkey / certkeyname / cacert per row,
 * while the Terraform provider binds certkeyname and userdataencryptionkey in one request and
 * finds its row by certkeyname. So:
 * - a row with a userdataencryptionkey is that key's binding, whatever else it carries (a
 *   certkeyname beside it is recorded as a server certificate too; crlcheck, ocspcheck and other
 *   attributes are ignored);
 * - a row with only certkeyname or cacert is a server or CA certificate, never an OTP key — even
 *   when it names the old or new OTP certkey (a build that does not echo userdataencryptionkey
 *   would look like this; preflight refuses that case rather than guess, see preflight.ts);
 * - a row with none of the three, or one of them not a string, is a shape we do not know: refused.
 */
export function classifyBindingRows(appliance: string, rows: readonly Record<string, unknown>[]): VpnGlobalBindings {
  const out: VpnGlobalBindings = { userDataKeys: [], serverCerts: [], caCerts: [] };
  for (const row of rows) {
    const [udek, cert, ca] = ROW_KINDS.map((k) => optionalString(appliance, RESOURCE, row, k));
    if (udek === undefined && cert === undefined && ca === undefined) {
      throw new NitroReplyShapeError(appliance, RESOURCE, `a row carries none of ${ROW_KINDS.join(', ')}`, rows);
    }
    if (udek !== undefined) out.userDataKeys.push(udek);
    if (cert !== undefined) out.serverCerts.push(cert);
    if (ca !== undefined) out.caCerts.push(ca);
  }
  return out;
}

export async function readVpnGlobalBindings(client: NitroClient): Promise<VpnGlobalBindings> {
  return classifyBindingRows(client.appliance, (await client.getList<Record<string, unknown>>(RESOURCE)) ?? []);
}

/** The certkeys bound as userDataEncryptionKey on vpn global, in the order the appliance lists them. */
export async function listUserDataEncryptionKeys(client: NitroClient): Promise<string[]> {
  return (await readVpnGlobalBindings(client)).userDataKeys;
}

/**
 * The same list as one given node of an HA pair holds it, asked of that node: the secondary is
 * read back to prove that a change made on the primary propagated. The read must not follow a
 * failover, or it would be answered by the primary and prove nothing; reading the secondary is
 * allowed, only writing there is not.
 */
export async function listUserDataEncryptionKeysOn(client: NitroClient, node: string): Promise<string[]> {
  const rows = (await client.getList<Record<string, unknown>>(RESOURCE, undefined, undefined, { node, noFailover: true })) ?? [];
  return classifyBindingRows(client.appliance, rows).userDataKeys;
}

export interface BindResult {
  /** false when it was already bound (nothing sent). */
  changed: boolean;
  bound: string[];
}

export async function bindUserDataEncryptionKey(client: NitroClient, certkey: string): Promise<BindResult> {
  const before = await listUserDataEncryptionKeys(client);
  if (before.includes(certkey)) return { changed: false, bound: before };
  try {
    await client.request({ method: 'PUT', resource: RESOURCE, body: { [RESOURCE]: { userdataencryptionkey: certkey } } });
  } catch (err) {
    // "Already exists" from a concurrent writer: the list is the truth.
    if (err instanceof NitroError && err.hasCode(NITRO_CODE.alreadyExists)) {
      const now = await listUserDataEncryptionKeys(client);
      if (!now.includes(certkey)) throw err;
      return { changed: true, bound: now };
    }
    if (!(err instanceof NitroOutcomeUnknownError)) throw err;
    return {
      changed: true,
      bound: await awaitChange(
        err,
        `the binding of ${certkey}`,
        () => listUserDataEncryptionKeys(client),
        (now) => now.includes(certkey),
      ),
    };
  }
  const after = await listUserDataEncryptionKeys(client);
  if (!after.includes(certkey)) {
    throw new AdcError(`${client.appliance}: bound ${certkey} as userDataEncryptionKey but vpn global does not list it`);
  }
  return { changed: true, bound: after };
}

/** Unbind one key. `changed: false` when it was not bound. */
export async function unbindUserDataEncryptionKey(client: NitroClient, certkey: string): Promise<BindResult> {
  try {
    await client.request({ method: 'DELETE', resource: RESOURCE, query: { args: { userdataencryptionkey: certkey } } });
  } catch (err) {
    if (err instanceof NitroError && err.hasCode(...ABSENT_CODES)) {
      return { changed: false, bound: await listUserDataEncryptionKeys(client) };
    }
    if (!(err instanceof NitroOutcomeUnknownError)) throw err;
    return {
      changed: true,
      bound: await awaitChange(
        err,
        `the unbinding of ${certkey}`,
        () => listUserDataEncryptionKeys(client),
        (now) => !now.includes(certkey),
      ),
    };
  }
  const after = await listUserDataEncryptionKeys(client);
  if (after.includes(certkey)) {
    throw new AdcError(`${client.appliance}: unbound ${certkey} but vpn global still lists it`);
  }
  return { changed: true, bound: after };
}

export type BindingCapability = 'multi' | 'single' | 'unknown';

export interface MultiBindingProbe {
  capability: BindingCapability;
  /** What the decision rests on (reply code or the list seen after the attempt). */
  evidence: string;
  /** Keys bound after the probe. */
  bound: string[];
  /** True when the candidate stays bound: the caller owns it now (journal it; rollback unbinds it). */
  candidateLeftBound: boolean;
  /**
   * The firmware bound the candidate in place of the others and the probe unbound it again to
   * put them back: a registration the gateway began in between may still write under it.
   */
  unboundAgain?: boolean;
}

export interface DetectOptions {
  /**
   * When the firmware accepts the second binding, keep it (default: true — that bind is exactly
   * step 3 of the overlap cutover, so undoing it only to redo it would be churn). With false,
   * the candidate is unbound again and the appliance is left as found.
   */
  keepIfAccepted?: boolean;
}

/**
 * The one refusal read as "this firmware holds one userDataEncryptionKey at a time": errorcode
 * 278 whose message names, as a whole name, a userDataEncryptionKey that vpn global lists right
 * now (read after the refusal; the candidate itself does not count). Returns that key, or
 * undefined when the refusal is anything else.
 *
 * This rests on an inference, not on a published fact: no public source (the NITRO reference,
 * the vendor's Go SDK, Terraform provider or Ansible collection, the other public clients listed
 * in docs/fidelity.md) states what a build that holds one key answers to a second bind. 278 is the
 * generic "invalid argument" such a build would give for a single-valued option, and a message
 * that names the key already bound is what ties the refusal to that key rather than to the
 * request. Everything else (an unknown code, 278 about the candidate, a 278 naming nothing
 * bound) is not evidence: turning an appliance to swap on it costs an outage, so it fails the
 * step instead, with the advice to choose mode swap on purpose. Matching message text goes
 * against the rule of branching on errorcodes only; here the code alone is too generic.
 */
export function oneKeyRefusalNames(err: NitroError, boundNow: readonly string[], candidate: string): string | undefined {
  if (err.errorcode !== NITRO_CODE.invalidArgument) return undefined;
  return boundNow.find((k) => k !== candidate && namesWhole(err.nitroMessage, k));
}

/** `name` occurs in `text` not as part of a longer certkey name ("otp" is not in "otp-new"). */
function namesWhole(text: string, name: string): boolean {
  if (!name) return false;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Certkey names are letters, digits and _ # . : @ = - (and spaces inside); a trailing period
  // followed by a space or the end is the sentence's, not the name's.
  return new RegExp(`(?<![\\w#.:@=-])${escaped}(?![\\w#:@=-]|\\.[\\w#:@=-])`).test(text);
}

/**
 * Decide from a real bind attempt whether this firmware holds two userDataEncryptionKeys at once.
 * Precondition: at least one other key is bound and `candidate` is not.
 * - both are listed afterwards → `multi` (candidate kept or removed per `keepIfAccepted`);
 * - the firmware silently replaced the old binding (the candidate listed, the others gone) →
 *   `single`, and the old binding is restored (candidate unbound, previous keys bound again);
 * - the bind is refused in the one way identified as "one key at a time" (oneKeyRefusalNames)
 *   and the list is unchanged → `single`, nothing changed.
 * Anything else — any other refusal, or a bind that was accepted and changed nothing — is not
 * evidence about the firmware: it throws (the step fails and the run rolls back), saying that
 * mode swap is the way to go on a firmware known to hold one key.
 * With nothing bound a bind proves nothing: `unknown`, no request sent.
 */
export async function detectMultiBinding(client: NitroClient, candidate: string, opts: DetectOptions = {}): Promise<MultiBindingProbe> {
  const keep = opts.keepIfAccepted ?? true;
  const before = await listUserDataEncryptionKeys(client);
  const others = before.filter((k) => k !== candidate);
  if (others.length === 0) {
    return { capability: 'unknown', evidence: 'no other userDataEncryptionKey is bound; a bind would prove nothing', bound: before, candidateLeftBound: before.includes(candidate) };
  }
  if (before.includes(candidate)) {
    return { capability: 'multi', evidence: `already bound together: ${before.join(', ')}`, bound: before, candidateLeftBound: true };
  }
  let refusal: NitroError | undefined;
  let after: string[] | undefined;
  try {
    await client.request({ method: 'PUT', resource: RESOURCE, body: { [RESOURCE]: { userdataencryptionkey: candidate } } });
  } catch (err) {
    if (!(err instanceof NitroError)) throw err;
    if (err instanceof NitroOutcomeUnknownError) {
      // No reply says nothing about the firmware. Wait for the bind (or for a single-binding
      // build's silent replacement) to show; if nothing changes, fail rather than guess "single"
      // from a slow appliance — and a late bind then lands on a run that is rolling back, whose
      // check after the rollback reads the bindings again.
      after = await awaitChange(
        err,
        `the probe binding of ${candidate}`,
        () => listUserDataEncryptionKeys(client),
        (now) => now.includes(candidate) || !others.every((k) => now.includes(k)),
      );
    } else {
      // A refusal about the appliance's state (HA propagation, busy after retries, not primary,
      // cluster node, credentials, no errorcode at all) fails the step as it is.
      if (!isBindingRefusal(err)) throw err;
      refusal = err;
    }
  }
  after ??= await listUserDataEncryptionKeys(client);
  const hasCandidate = after.includes(candidate);
  const othersKept = others.every((k) => after.includes(k));
  if (!hasCandidate) {
    if (!othersKept) {
      throw new AdcError(`${client.appliance}: probe bind of ${candidate} removed ${others.join(', ')} without binding it; vpn global now lists [${after.join(', ')}] — restore by hand`);
    }
    const named = refusal ? oneKeyRefusalNames(refusal, after, candidate) : undefined;
    if (!refusal || !named) throw notEvidence(client.appliance, candidate, others, refusal);
    return {
      capability: 'single',
      evidence: `bind refused: errorcode ${refusal.errorcode ?? '?'} "${refusal.nitroMessage}", naming ${named}, which is bound`,
      bound: after,
      candidateLeftBound: false,
    };
  }
  if (othersKept) {
    if (!keep) {
      const res = await unbindUserDataEncryptionKey(client, candidate);
      return { capability: 'multi', evidence: `both listed after binding ${candidate}; probe binding removed again`, bound: res.bound, candidateLeftBound: false };
    }
    return { capability: 'multi', evidence: `both listed after binding ${candidate}`, bound: after, candidateLeftBound: true };
  }
  // Replaced: put the appliance back as it was. This unbind does not ask the census first, and
  // need not: the firmware took the old keys away, so keeping the candidate would leave every
  // device under them unreadable here, while putting them back strands only devices enrolled
  // through this appliance in the moment the candidate was bound (the gateway encrypts under the
  // newest key). Those are healed like any device enrolled under the new certificate: by the
  // swap later in the run, or, if the run rolls back, by the check at its end, which waits out
  // such registrations first (the caller records when the candidate went: unboundAgain). No
  // choice here avoids that moment; docs/reliability.md ("The invariant") names the exception.
  await unbindUserDataEncryptionKey(client, candidate);
  let bound: string[] = [];
  for (const k of others) bound = (await bindUserDataEncryptionKey(client, k)).bound;
  return { capability: 'single', evidence: `binding ${candidate} replaced ${others.join(', ')}; restored`, bound, candidateLeftBound: false, unboundAgain: true };
}

/** The probe proved nothing about the firmware: fail the step, and say how to go on. */
function notEvidence(appliance: string, candidate: string, others: string[], refusal: NitroError | undefined): AdcError {
  const what = refusal
    ? `the bind of ${candidate} next to ${others.join(', ')} was refused (${refusal.message}), and that is not the refusal read as "one key at a time" (errorcode ${NITRO_CODE.invalidArgument} naming the key bound now)`
    : `the bind of ${candidate} next to ${others.join(', ')} was accepted, yet vpn global lists only ${others.join(', ')}`;
  return new AdcError(
    `${appliance}: ${what}; the bindings are unchanged. If this firmware holds one key at a time, run with mode: swap (outage: from the re-encryption until ${candidate} is bound in its place, users already moved cannot log on through ${appliance})`,
    undefined,
    refusal ? { cause: refusal } : undefined,
  );
}
