// The LDAP layer against a real slapd, bound as the service account (never the root DN, which
// would hide size limits and ACLs).
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CasConflict,
  DirectoryUnavailable,
  DryRunRefusal,
  InsufficientAccess,
  casReplace,
  census,
  connect,
  countEntries,
  escapeFilterValue,
  equalityFilter,
  readValue,
  readValues,
  scan,
  splitDn,
  type DirectoryClient,
} from '../../src/directory/index.js';
import { InputError } from '../../src/errors.js';
import { Keyring, encryptValue } from '../../src/otp/index.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';

let lab: TestDirectory;
let svc: DirectoryClient;
let root: Client;

beforeAll(async () => {
  lab = await startTestDirectory({ users: 60 });
  svc = await connect({ url: lab.slapd.url, bindDN: lab.slapd.serviceDN, password: lab.slapd.servicePassword });
  root = new Client({ url: lab.slapd.url });
  await root.bind(lab.slapd.rootDN, lab.slapd.rootPassword);
});

afterAll(async () => {
  await svc?.close();
  await root?.unbind().catch(() => undefined);
  await lab?.stop();
});

describe('filters and DNs', () => {
  it('escapes the RFC 4515 specials and nothing else', () => {
    expect(escapeFilterValue('a*b(c)d\\e\0f')).toBe('a\\2ab\\28c\\29d\\5ce\\00f');
    expect(escapeFilterValue('Müller, Jo')).toBe('Müller, Jo');
    expect(equalityFilter('sAMAccountName', '*)(cn=*')).toBe('(sAMAccountName=\\2a\\29\\28cn=\\2a)');
    expect(() => equalityFilter('cn)(x', 'v')).toThrow(/not an LDAP attribute name/);
  });

  it('splits a DN with escaped separators', () => {
    expect(splitDn('cn=Smith\\, John,ou=Users,dc=x')).toEqual({ type: 'cn', value: 'Smith, John', parent: 'ou=Users,dc=x' });
    expect(splitDn('cn=a\\2Cb,dc=x')?.value).toBe('a,b');
    expect(splitDn('cn=a+uid=b,dc=x')).toBeUndefined();
  });

  it('an injected value matches only itself in the directory', async () => {
    const dn = `cn=Inject,${lab.slapd.usersDN}`;
    await root.add(dn, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], cn: 'Inject', sn: 'x', sAMAccountName: '*)(cn=*' });
    const hits = await svc.search(lab.slapd.baseDN, { scope: 'sub', filter: equalityFilter('sAMAccountName', '*)(cn=*'), attributes: ['1.1'] });
    expect(hits.map((h) => h.dn.toLowerCase())).toEqual([dn.toLowerCase()]);
    const none = await svc.search(lab.slapd.baseDN, { scope: 'sub', filter: equalityFilter('sAMAccountName', 'user0000*'), attributes: ['1.1'] });
    expect(none).toEqual([]);
    await root.del(dn);
  });
});

describe('connect', () => {
  it('LDAPS verifies the server against the given CA, and refuses without it', async () => {
    const ok = await connect({ url: lab.slapd.ldapsUrl, bindDN: lab.slapd.serviceDN, password: lab.slapd.servicePassword, caPem: lab.slapd.caPem });
    await ok.close();
    await expect(connect({ url: lab.slapd.ldapsUrl, bindDN: lab.slapd.serviceDN, password: lab.slapd.servicePassword, timeoutMs: 3000 })).rejects.toThrow(/certificate/i);
  });

  it('StartTLS upgrades an ldap:// connection', async () => {
    const c = await connect({ url: lab.slapd.url, bindDN: lab.slapd.serviceDN, password: lab.slapd.servicePassword, caPem: lab.slapd.caPem, startTls: true });
    expect(await readValue(c, lab.seed.canary.dn, 'userParameters')).toEqual([lab.seed.canary.value]);
    await c.close();
  });

  it('a wrong password is bad input naming the bind DN, without the password', async () => {
    const err = await connect({ url: lab.slapd.url, bindDN: lab.slapd.serviceDN, password: 'not-it-123' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(String((err as Error).message)).toContain(lab.slapd.serviceDN);
    expect(String((err as Error).message)).toContain('49');
    expect(String((err as Error).message)).not.toContain('not-it-123');
  });

  it('an unreachable server is DirectoryUnavailable', async () => {
    await expect(connect({ url: 'ldap://127.0.0.1:1', bindDN: 'cn=x', password: 'y', timeoutMs: 2000 })).rejects.toBeInstanceOf(DirectoryUnavailable);
  });
});

describe('scan, count, read-back', () => {
  it('pages through every enrolled user as the service account', async () => {
    const seen: string[] = [];
    for await (const e of scan(svc, { base: lab.slapd.usersDN, filter: '(objectClass=user)', attribute: 'userParameters', pageSize: 7 })) {
      expect(e.values.length).toBe(1);
      seen.push(e.dn.toLowerCase());
    }
    const expected = [...lab.seed.users.filter((u) => u.value !== undefined).map((u) => u.dn), lab.seed.canary.dn].map((d) => d.toLowerCase());
    expect(seen.sort()).toEqual(expected.sort());
    expect(await countEntries(svc, { base: lab.slapd.usersDN, filter: 'objectClass=user', attribute: 'userParameters' })).toBe(expected.length);
  });

  it('reads many entries back with grouped searches, byte for byte', async () => {
    const users = lab.seed.users.filter((u) => u.value !== undefined);
    const got = await readValues(svc, [...users.map((u) => u.dn), `cn=Nobody,${lab.slapd.usersDN}`], 'userParameters', 5);
    expect(got.size).toBe(users.length);
    for (const u of users) expect(got.get(u.dn.toLowerCase())).toEqual([u.value]);
  });
});

describe('compare-and-swap', () => {
  it('replaces only the value it read; a stale read is a CasConflict and changes nothing', async () => {
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    const next = encryptValue(u.devices, lab.newKey);
    await casReplace(svc, u.dn, 'userParameters', u.value, next);
    expect(await readValue(svc, u.dn, 'userParameters')).toEqual([next]);
    const stale = await casReplace(svc, u.dn, 'userParameters', u.value, 'x').catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(CasConflict);
    expect((stale as CasConflict).resultCode).toBe(16);
    expect((stale as CasConflict).message).toContain(u.dn);
    expect(await readValue(svc, u.dn, 'userParameters')).toEqual([next]);
    await casReplace(svc, u.dn, 'userParameters', next, u.value!);
  });

  it('adding where a value already exists is a conflict', async () => {
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    await expect(casReplace(svc, u.dn, 'userParameters', undefined, 'y')).rejects.toBeInstanceOf(CasConflict);
  });

  it('an entry the service account may not write is InsufficientAccess naming the DN', async () => {
    // The ACL grants writes under the users OU only; the service account's own entry is outside it.
    const value = encryptValue([{ name: 'p', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEH' }], lab.oldKey);
    await root.modify(lab.slapd.serviceDN, new Change({ operation: 'replace', modification: new Attribute({ type: 'userParameters', values: [value] }) }));
    const err = await casReplace(svc, lab.slapd.serviceDN, 'userParameters', value, 'z').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientAccess);
    expect((err as InsufficientAccess).dn).toBe(lab.slapd.serviceDN);
    expect((err as Error).message).toMatch(/50 insufficientAccessRights/);
    await root.modify(lab.slapd.serviceDN, new Change({ operation: 'delete', modification: new Attribute({ type: 'userParameters', values: [] }) }));
  });

  it('a dry-run connection refuses to write', async () => {
    const dry = await connect({ url: lab.slapd.url, bindDN: lab.slapd.serviceDN, password: lab.slapd.servicePassword, dryRun: true });
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    await expect(casReplace(dry, u.dn, 'userParameters', u.value, 'x')).rejects.toBeInstanceOf(DryRunRefusal);
    expect(await readValue(dry, u.dn, 'userParameters')).toEqual([u.value]);
    await dry.close();
  });
});

describe('census', () => {
  it('counts what the seed put there, per KID, with labels', async () => {
    const c = await census(svc, {
      base: lab.slapd.usersDN,
      filter: '(objectClass=user)',
      attribute: 'userParameters',
      keyring: new Keyring([lab.oldKey]),
      kidLabels: { [lab.oldKey.kidText]: 'otp-2024' },
      extraAttributes: ['extensionAttribute2'],
      pageSize: 9,
    });
    const users = lab.seed.users;
    const enrolledEncrypted = users.filter((u) => u.kind === 'single' || u.kind === 'multi');
    expect(c.entries).toBe(users.length + 1);
    expect(c.empty).toBe(lab.seed.counts.none);
    expect(c.legacy.entries).toBe(lab.seed.counts.legacy);
    const old = c.byKid.find((k) => k.kid === lab.oldKey.kidText)!;
    expect(old.label).toBe('otp-2024');
    expect(old.held).toBe(true);
    // +1 canary; +1 bad-base64 seeds would not parse, so they land in unreadable instead.
    expect(old.devices).toBe(enrolledEncrypted.reduce((n, u) => n + u.devices.length, 0) + 1);
    const broken = lab.seed.counts['broken-json'] + lab.seed.counts['bad-base64'];
    expect(c.unreadable.entries).toBe(broken);
    expect(c.byKid.filter((k) => !k.held).reduce((n, k) => n + k.devices, 0)).toBe(lab.seed.counts['unknown-kid']);
    expect(c.multiValued.entries).toBe(0);
    expect(c.extraAttributes[0]).toMatchObject({ attribute: 'extensionAttribute2', entries: 0 });
    expect(c.extraAttributes[0].note).toMatch(/old key/);
    expect(JSON.stringify(c)).not.toContain(enrolledEncrypted[0].devices[0].secret);
  });
});
