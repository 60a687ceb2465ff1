// The no-lockout invariant, judged from outside the product: every appliance's bound
// userDataEncryptionKeys (their certificates' SHA-1, read from the simulator's own state) against
// the KID of every encrypted device in the directory (read as root, byte for byte). Tests call it
// a few seconds after a command exits, so a write that landed late is seen.
import { parseAttribute, toB64Url } from '../../src/otp/index.js';
import type { E2eLab, Snapshot } from './e2e.js';

export interface Breach {
  appliance: string;
  kid: string;
  users: string[];
}

/** Breaches of the invariant in a snapshot; empty when every device is readable everywhere. */
export function lockedOut(s: Snapshot): Breach[] {
  const devicesByKid = new Map<string, string[]>();
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
        const users = devicesByKid.get(kid) ?? [];
        if (!users.includes(dn)) users.push(dn);
        devicesByKid.set(kid, users);
      }
    }
  }
  const out: Breach[] = [];
  for (const [name, a] of Object.entries(s.appliances)) {
    const sha1ByCertkey = new Map(a.certkeys.map((c) => [c.slice(0, c.lastIndexOf(':')), c.slice(c.lastIndexOf(':') + 1)]));
    const boundKids = new Set(a.bindings.map((k) => toB64Url(Buffer.from(sha1ByCertkey.get(k) ?? '', 'hex'))));
    for (const [kid, users] of devicesByKid) if (!boundKids.has(kid)) out.push({ appliance: name, kid, users });
  }
  return out;
}

/** Wait for late writes to land, then judge the lab as it is. */
export async function lockedOutAfter(lab: E2eLab, settleMs = 3000): Promise<Breach[]> {
  await new Promise((r) => setTimeout(r, settleMs));
  return lockedOut(await lab.snapshot());
}
