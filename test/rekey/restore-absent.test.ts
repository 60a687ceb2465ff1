// runRestore where the original was "no value" (a copy to -target_attribute adds the attribute):
// against a real slapd, the value the run wrote is deleted, but only while the entry still holds
// exactly that value; a value changed since, or during the restore, is left and its DN reported.
import { join } from 'node:path';
import { Attribute, Change, type Client } from 'ldapts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { casReplace, readValues, type DirectoryClient } from '../../src/directory/index.js';
import { encryptValue } from '../../src/otp/index.js';
import { BackupWriter, NO_VALUE, runRestore, sha256Hex } from '../../src/rekey/index.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';
import { rootClient, serviceConnect } from './helpers.js';

let lab: TestDirectory;
let root: Client;
const target = 'extensionAttribute1';

beforeAll(async () => {
  lab = await startTestDirectory({ users: 20 });
  root = await rootClient(lab);
});

afterAll(async () => {
  await root?.unbind().catch(() => undefined);
  await lab?.stop();
});

async function targets(dns: string[]): Promise<Map<string, string[]>> {
  const c = await serviceConnect(lab)();
  try {
    return await readValues(c, dns, target);
  } finally {
    await c.close();
  }
}

const replaceAs = (dn: string, value: string) => root.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: target, values: [value] }) }));

it('deletes what the run added where there was nothing; a value changed since or while restoring is left, named by DN', async () => {
  const users = lab.seed.users.filter((u) => u.kind === 'single').slice(0, 5);
  expect(users).toHaveLength(5);
  const [added, changedSince, alreadyGone, racing, keptValue] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0]];
  const dns = users.map((u) => u.dn);
  expect([...(await targets(dns)).values()].every((v) => v.length === 0)).toBe(true);

  // keptValue held a value before the run: its undo is putting that value back, as before.
  const before = encryptValue([{ name: 'old', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEH' }], lab.oldKey);
  await replaceAs(keptValue.dn, before);

  // The run, as the copy writes it: the original (NO_VALUE where there was none) sealed and
  // fsync'd first, then a compare-and-swap write, then the "written" record.
  const file = join(lab.dir, 'copy-backup.jsonl');
  const backup = await BackupWriter.create(file, { job: 'rekey', attribute: target, base: lab.slapd.usersDN, kids: [lab.oldKey.kidText, lab.newKey.kidText], sealWith: lab.oldKey });
  const conn = await serviceConnect(lab)();
  const written = new Map<string, string>();
  try {
    for (const u of users) {
      const value = encryptValue(u.devices, lab.newKey);
      const original = u === keptValue ? before : NO_VALUE;
      await backup.append([backup.originals([{ dn: u.dn, value: original, intended: sha256Hex(value) }])]);
      await casReplace(conn, u.dn, target, original === NO_VALUE ? undefined : original, value);
      await backup.append([{ type: 'written', entries: [{ dn: u.dn, sha256: sha256Hex(value) }] }]);
      written.set(u.dn, value);
    }
  } finally {
    await conn.close();
    await backup.close();
  }

  // After the run: someone else's value on one user, the copy already cleared by hand on another.
  const theirs = encryptValue([{ name: 'someone-else', secret: 'KRSXG5CTMVRXEZLUKRSXG5CTMU' }], lab.newKey);
  await replaceAs(changedSince.dn, theirs);
  await root.modify(alreadyGone.dn, new Change({ operation: 'delete', modification: new Attribute({ type: target, values: [] }) }));

  // During the restore: a registration lands on `racing` between the restore's read and its delete.
  const during = encryptValue([{ name: 'during', secret: 'MFRGGZDFMZTWQ2LKNNWG23TPOA' }], lab.newKey);
  const connect = async (): Promise<DirectoryClient> => {
    const c = await serviceConnect(lab)();
    const modify = c.modify.bind(c);
    c.modify = async (dn, changes, codes) => {
      if (dn === racing.dn) await replaceAs(racing.dn, during);
      return modify(dn, changes, codes);
    };
    return c;
  };

  const s = await runRestore({ connect, backupFile: file, keys: [lab.oldKey], concurrency: 1 });
  expect(s.failed).toEqual([]);
  expect(s.fetched).toBe(5);
  expect(s.changed).toBe(2);
  expect(s.unchanged).toBe(1);
  expect([...s.changedSince].sort()).toEqual([changedSince.dn, racing.dn].sort());
  expect(s.skipped).toEqual({ 'changed since the run': 1, 'changed while restoring': 1 });

  const now = await targets(dns);
  expect(now.get(added.dn.toLowerCase())).toEqual([]);
  expect(now.get(alreadyGone.dn.toLowerCase())).toEqual([]);
  expect(now.get(changedSince.dn.toLowerCase())).toEqual([theirs]);
  expect(now.get(racing.dn.toLowerCase())).toEqual([during]);
  expect(now.get(keptValue.dn.toLowerCase())).toEqual([before]);

  // A second restore finds nothing of the run's left to undo and deletes nothing else.
  const again = await runRestore({ connect: serviceConnect(lab), backupFile: file, keys: [lab.oldKey] });
  expect(again.changed).toBe(0);
  expect(again.failed).toEqual([]);
  expect(await targets(dns)).toEqual(now);
});
