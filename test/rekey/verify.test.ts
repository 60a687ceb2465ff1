// The engine's proof that every secret survived: each new value is checked with the target key
// before it is written, and the read-back must be byte-identical to it. These tests make the
// read-back lie (a corrupted value, someone else's valid value) and feed a value that cannot pass
// the check: each is caught and reported with its DN, and the value that fails before the write
// is never written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change, type Client, type Entry } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { equalityFilter, type DirectoryClient } from '../../src/directory/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import { addDevice, encryptValue, keyMaterialFromPem } from '../../src/otp/index.js';
import { runRekey } from '../../src/rekey/index.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';
import { holdsUnder, rootClient, serviceConnect, snapshot } from './helpers.js';

let lab: TestDirectory;
let root: Client;
const attribute = 'userParameters';

beforeAll(async () => {
  lab = await startTestDirectory({ users: 30 });
  root = await rootClient(lab);
});

afterAll(async () => {
  await root?.unbind().catch(() => undefined);
  await lab?.stop();
});

/** Service connections whose one-level searches (the engine's grouped read-back) pass through `lie`. */
function lyingConnect(lie: (dn: string, value: string) => string | undefined): () => Promise<DirectoryClient> {
  const open = serviceConnect(lab);
  return async () => {
    const c = await open();
    const search = c.search.bind(c);
    c.search = async (base, options) => {
      const entries = await search(base, options);
      if (options.scope !== 'one') return entries;
      return entries.map((e): Entry => {
        const key = Object.keys(e).find((k) => k.toLowerCase() === attribute.toLowerCase());
        const v = key === undefined ? undefined : e[key];
        const told = typeof v === 'string' ? lie(e.dn, v) : undefined;
        return told === undefined ? e : { ...e, [key!]: told };
      });
    };
    return c;
  };
}

/** One base64 character of the first device's ciphertext changed. */
function corrupt(value: string): string {
  const doc = JSON.parse(value) as { otpdata: { devices: Record<string, string> } };
  const [name, dev] = Object.entries(doc.otpdata.devices)[0];
  const [kid, iv, ct] = dev.split('.');
  doc.otpdata.devices[name] = `${kid}.${iv}.${ct[0] === 'A' ? 'B' : 'A'}${ct.slice(1)}`;
  return JSON.stringify(doc);
}

describe('the read-back', () => {
  it('a read-back that differs from what was written is decrypted and checked in full: corruption and wrong secrets are reported', async () => {
    const users = lab.seed.users.filter((u) => u.kind === 'single' || u.kind === 'multi');
    const corrupted = users.find((u) => u.kind === 'single')!;
    const swapped = users.find((u) => u.kind === 'multi')!;
    const lies = new Map<string, (v: string) => string>([
      [corrupted.dn.toLowerCase(), corrupt],
      // A value that reads perfectly with the new key, but holds other secrets.
      [
        swapped.dn.toLowerCase(),
        () =>
          encryptValue(
            swapped.devices.map((d, i) => ({ ...d, secret: swapped.devices[(i + 1) % swapped.devices.length].secret.split('').reverse().join('') })),
            lab.newKey,
          ),
      ],
    ]);
    const s = await runRekey({
      base: lab.slapd.usersDN,
      filter: '(objectClass=user)',
      attribute,
      connect: lyingConnect((dn, v) => lies.get(dn.toLowerCase())?.(v)),
      job: { kind: 'rekey', from: [lab.oldKey], to: lab.newKey },
      backupFile: join(lab.dir, 'lies.jsonl'),
      groupSize: 4,
      concurrency: 2,
    });
    const failed = new Map(s.failed.map((f) => [f.dn.toLowerCase(), f.reason]));
    expect([...failed.keys()].sort()).toEqual([corrupted.dn.toLowerCase(), swapped.dn.toLowerCase()].sort());
    expect(failed.get(corrupted.dn.toLowerCase())).toMatch(/after our write.*(cannot decrypt|different secret)/);
    expect(failed.get(swapped.dn.toLowerCase())).toMatch(/after our write.*different secret/);
    expect(s.changed).toBe(users.length + 1 - 2); // + the canary
    // The directory itself holds the right values: only the read-back lied.
    const snap = await snapshot(lab);
    for (const u of users) expect(holdsUnder(snap.get(u.dn.toLowerCase())![0], u.devices, lab.newKey)).toBe(true);
  });
});

describe('before the write', () => {
  it('a new value that does not read back with the target key is never written, nor backed up', async () => {
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    const stray = selfSignedCert({ cn: 'someone else' });
    // One device to move, one under a certificate the run does not hold: the rewritten value
    // would not read with the target key alone, so it fails the check and is not sent.
    const mixed = addDevice(encryptValue(u.devices, lab.oldKey), { name: 'elsewhere', secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY' }, keyMaterialFromPem(stray.certPem, stray.keyPem));
    await root.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [mixed] }) }));
    const file = join(lab.dir, 'mixed.jsonl');
    const s = await runRekey({
      base: lab.slapd.usersDN,
      filter: equalityFilter('sAMAccountName', u.sAMAccountName),
      attribute,
      connect: serviceConnect(lab),
      job: { kind: 'rekey', from: [lab.oldKey], to: lab.newKey },
      backupFile: file,
    });
    expect(s.changed).toBe(0);
    expect(s.failed).toEqual([{ dn: u.dn, reason: expect.stringMatching(/verification failed before the write \(.*cannot decrypt with this certificate.*\); not written/) }]);
    expect((await snapshot(lab)).get(u.dn.toLowerCase())).toEqual([mixed]);
    const records = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(records).toEqual(['header']);
  });
});
