// Seeds the benchmark's users: everyone enrolled under the old key, one device each, every tenth
// user a second one. Nothing is kept per user, so a million users cost no more memory than a
// thousand. Two ways to the same entries: adds over LDAP, or (for large counts, where LDAP adds
// would take the better part of an hour) an LDIF file loaded by OpenLDAP's offline `slapadd`.
import { createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'ldapts';
import { randomPassword, sshaHash, type RunningSlapd } from '../src/lab/slapd.js';
import { newTotpSecret } from '../src/lab/seed.js';
import { encryptValue, type OtpKeyMaterial } from '../src/otp/index.js';

export const ATTRIBUTE = 'userParameters';

export type SeedMethod = 'ldap' | 'ldif';

/** From this many users `--seed` defaults to ldif: there the LDAP adds take a minute or more on the lab. */
export const LDIF_SEED_FROM = 50_000;

/** User `i` (from 0): both seeding paths build their entries here, so they cannot drift apart. */
function userEntry(i: number, usersDN: string, hash: string, oldKey: OtpKeyMaterial): { dn: string; attributes: Record<string, string | string[]> } {
  const n = String(i + 1).padStart(7, '0');
  const devices = [{ name: 'phone', secret: newTotpSecret() }, ...(i % 10 === 0 ? [{ name: 'tablet', secret: newTotpSecret() }] : [])];
  return {
    dn: `cn=User ${n},${usersDN}`,
    attributes: {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      cn: `User ${n}`,
      sn: n,
      sAMAccountName: `user${n}`,
      userPassword: hash,
      [ATTRIBUTE]: encryptValue(devices, oldKey),
    },
  };
}

/** Returns how the time went, for the bench's output. */
export async function seedUsers(slapd: RunningSlapd, users: number, oldKey: OtpKeyMaterial, method: SeedMethod, onProgress?: (done: number) => void): Promise<string> {
  // One password hash for all: the bench never logs on as a user.
  const hash = sshaHash(randomPassword());
  if (method === 'ldif') return seedOffline(slapd, users, oldKey, hash, onProgress);
  await seedOverLdap(slapd, users, oldKey, hash, onProgress);
  return 'LDAP adds, 4 connections';
}

async function seedOverLdap(slapd: RunningSlapd, users: number, oldKey: OtpKeyMaterial, hash: string, onProgress?: (done: number) => void): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const c = new Client({ url: slapd.url, timeout: 120_000 });
      await c.bind(slapd.rootDN, slapd.rootPassword);
      return c;
    }),
  );
  let next = 0;
  let done = 0;
  const worker = async (c: Client) => {
    while (next < users) {
      const e = userEntry(next++, slapd.usersDN, hash, oldKey);
      await c.add(e.dn, e.attributes);
      if (++done % 50_000 === 0) onProgress?.(done);
    }
  };
  try {
    await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => worker(c))));
  } finally {
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  }
}

// Printable ASCII that does not start with a space, ':' or '<' goes into LDIF as it is; anything
// else is base64 (RFC 2849). The seeded values are all plain, but the check costs nothing.
const SAFE = /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/;
const ldifLine = (name: string, value: string) => (SAFE.test(value) && !value.endsWith(' ') ? `${name}: ${value}\n` : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}\n`);

/** Streams the entries to an LDIF file a batch at a time (flat memory), then has slapadd load it. */
async function seedOffline(slapd: RunningSlapd, users: number, oldKey: OtpKeyMaterial, hash: string, onProgress?: (done: number) => void): Promise<string> {
  function* batches(): Generator<string> {
    let batch = '';
    for (let i = 0; i < users; i++) {
      const e = userEntry(i, slapd.usersDN, hash, oldKey);
      batch += ldifLine('dn', e.dn);
      for (const [name, v] of Object.entries(e.attributes)) for (const value of Array.isArray(v) ? v : [v]) batch += ldifLine(name, value);
      batch += '\n';
      if ((i + 1) % 1000 === 0) {
        yield batch;
        batch = '';
      }
      if ((i + 1) % 50_000 === 0) onProgress?.(i + 1);
    }
    if (batch) yield batch;
  }
  const file = join(slapd.dir, 'bench-users.ldif');
  try {
    // pipeline waits for the writes to drain: a bounded number of batches is in memory at a time.
    let t = Date.now();
    await pipeline(Readable.from(batches()), createWriteStream(file, { mode: 0o600 }));
    const written = (Date.now() - t) / 1000;
    t = Date.now();
    await slapd.addOffline(file);
    return `LDIF written in ${written.toFixed(1)} s, slapadd and restart ${((Date.now() - t) / 1000).toFixed(1)} s`;
  } finally {
    // Half a gigabyte at a million users: not kept.
    rmSync(file, { force: true });
  }
}
