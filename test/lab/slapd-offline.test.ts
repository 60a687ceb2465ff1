// Entries loaded offline with slapadd (the benchmark's bulk seeding) land in the same database
// that slapd then serves, on the same URLs, with the same ACLs and compare-and-swap semantics:
// the restarted slapd can read and write what slapadd wrote.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../src/lab/processes.js';
import { sshaHash, startSlapd, type RunningSlapd } from '../../src/lab/slapd.js';

describe('lab slapd: addOffline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slapd-offline-'));
  let slapd: RunningSlapd | undefined;
  afterAll(async () => {
    await slapd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads an LDIF with slapadd and serves it again on the same URL under a new pid', async () => {
    slapd = await startSlapd({ dir });
    const first = slapd.pid;
    const url = slapd.url;
    const ldif = join(dir, 'users.ldif');
    const entry = (n: number, value: string) =>
      `dn: cn=Offline ${n},${slapd!.usersDN}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\ncn: Offline ${n}\nsn: ${n}\nsAMAccountName: offline${n}\nuserPassword: ${sshaHash('x')}\nuserParameters: ${value}\n\n`;
    writeFileSync(ldif, entry(1, '#@old=A&,') + entry(2, '#@other=B&,'));
    await slapd.addOffline(ldif);
    expect(slapd.url).toBe(url);
    expect(slapd.pid).not.toBe(first);
    expect(isRunning(first)).toBe(false);
    expect(isRunning(slapd.pid)).toBe(true);

    const svc = new Client({ url: slapd.url, timeout: 10_000 });
    try {
      await svc.bind(slapd.serviceDN, slapd.servicePassword);
      const dn = `cn=Offline 1,${slapd.usersDN}`;
      const read = async () => (await svc.search(dn, { scope: 'base', attributes: ['userParameters'] })).searchEntries[0].userParameters;
      expect(await read()).toBe('#@old=A&,');
      // The restarted slapd writes to the files slapadd made.
      await svc.modify(dn, [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'userParameters', values: ['#@old=A&,'] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'userParameters', values: ['#@new=C&,'] }) }),
      ]);
      expect(await read()).toBe('#@new=C&,');
      const { searchEntries } = await svc.search(slapd.usersDN, { filter: '(sAMAccountName=offline*)', attributes: ['cn'] });
      expect(searchEntries).toHaveLength(2);
    } finally {
      await svc.unbind().catch(() => undefined);
    }
    await slapd.stop();
    expect(isRunning(slapd.pid)).toBe(false);
  });
});
