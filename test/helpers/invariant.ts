// The no-lockout invariant, judged from outside the product: every appliance's bound
// userDataEncryptionKeys (their certificates' SHA-1, read from the simulator's own state) against
// the KID of every encrypted device in the directory (read as root, byte for byte). Tests call it
// a few seconds after a command exits, so a write that landed late is seen. Judged are the
// devices under the lab's two OTP certificates, the old and the new: the lab also seeds a few
// under a certificate no appliance was ever given (readable by nobody, before any run as after),
// which no run can make or break.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseAttribute, toB64Url } from '../../src/otp/index.js';
import type { E2eLab, Snapshot } from './e2e.js';

export interface Breach {
  appliance: string;
  kid: string;
  users: string[];
}

/** The KIDs of the lab's old and new OTP certificates (a KID is the certificate's SHA-1). */
export function labKids(lab: E2eLab): Set<string> {
  const { old, new: neu } = lab.status.certs;
  return new Set([old.cert, neu.cert].map((f) => toB64Url(Buffer.from(new X509Certificate(readFileSync(f)).fingerprint.replace(/:/g, ''), 'hex'))));
}

/** Breaches of the invariant in a snapshot, for devices under the certificates `judged` (KIDs); empty when each is readable everywhere. */
export function lockedOut(s: Snapshot, judged: ReadonlySet<string>): Breach[] {
  const devicesByKid = new Map<string, string[]>();
  let seen = 0;
  for (const [dn, values] of Object.entries(s.directory)) {
    for (const v of values) {
      let attr;
      try {
        attr = parseAttribute(v);
      } catch {
        continue; // unreadable before any run: not what a run is judged on
      }
      if (attr.format !== 'encrypted') continue;
      for (const d of attr.devices) {
        const kid = toB64Url(d.kid);
        if (!judged.has(kid)) continue;
        seen++;
        const users = devicesByKid.get(kid) ?? [];
        if (!users.includes(dn)) users.push(dn);
        devicesByKid.set(kid, users);
      }
    }
  }
  // Every lab seeds devices under the old certificate, and a run moves them to the new one: a
  // snapshot with none under either means the KIDs are wrong, and the check would prove nothing.
  if (seen === 0) throw new Error(`no device in the directory is under the judged certificates (${[...judged].join(', ')})`);
  const out: Breach[] = [];
  for (const [name, a] of Object.entries(s.appliances)) {
    const sha1ByCertkey = new Map(a.certkeys.map((c) => [c.slice(0, c.lastIndexOf(':')), c.slice(c.lastIndexOf(':') + 1)]));
    const boundKids = new Set(a.bindings.map((k) => toB64Url(Buffer.from(sha1ByCertkey.get(k) ?? '', 'hex'))));
    for (const [kid, users] of devicesByKid) if (!boundKids.has(kid)) out.push({ appliance: name, kid, users });
  }
  return out;
}

/**
 * The wait for a command during which no reply was held past the client's wait (no delay, drop
 * or hold fault outlasting its timeout): every write it sent has been applied once it exits, or
 * within a moment for one a killed process had in flight. Tests that check after many commands
 * use it instead of the default, which is for late writes.
 */
export const NO_LATE_WRITES_MS = 250;

/** Wait for late writes to land, then judge the lab as it is. */
export async function lockedOutAfter(lab: E2eLab, settleMs = 3000): Promise<Breach[]> {
  await new Promise((r) => setTimeout(r, settleMs));
  return lockedOut(await lab.snapshot(), labKids(lab));
}
