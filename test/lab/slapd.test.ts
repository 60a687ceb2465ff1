// The directory behaves like the AD an ADC talks to, as the rest of the project relies on:
// paging past the size limit as the service account, ACLs, CAS semantics, LDAPS with the lab CA.
import { connect } from 'node:net';
import { Attribute, Change, Client, ConstraintViolationError, InsufficientAccessError, InvalidCredentialsError, NoSuchAttributeError, SizeLimitExceededError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptValue } from '../../src/otp/index.js';
import { isRunning } from '../../src/lab/processes.js';
import { startTestDirectory, type TestDirectory } from '../helpers/directory.js';

const USERS = 1100;

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('lab slapd', () => {
  let lab: TestDirectory;
  const clients: Client[] = [];
  async function as(dn: string | undefined, password?: string, url?: string): Promise<Client> {
    const target = url ?? lab.slapd.url;
    // ldapts starts TLS whenever tlsOptions is present, so give it only for ldaps://.
    const c = new Client({ url: target, timeout: 10_000, ...(target.startsWith('ldaps:') ? { tlsOptions: { ca: [lab.slapd.caPem] } } : {}) });
    clients.push(c);
    if (dn) await c.bind(dn, password);
    return c;
  }
  beforeAll(async () => {
    lab = await startTestDirectory({ users: USERS });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
    await lab?.stop();
  });

  it('lets the service account page through more users than the size limit', async () => {
    const svc = await as(lab.slapd.serviceDN, lab.slapd.servicePassword);
    const { searchEntries } = await svc.search(lab.slapd.usersDN, {
      filter: '(objectClass=user)',
      attributes: ['userParameters'],
      paged: { pageSize: 500 },
    });
    expect(searchEntries.length).toBe(USERS + 1);
    // Without paging the soft limit (1000) applies, as it would to an ADC's unpaged search.
    await expect(svc.search(lab.slapd.usersDN, { filter: '(objectClass=user)', attributes: ['cn'] })).rejects.toBeInstanceOf(SizeLimitExceededError);
  });

  it('lets a user bind with their own password but not read any OTP attribute', async () => {
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    const c = await as(u.dn, u.password);
    const { searchEntries } = await c.search(u.dn, { scope: 'base', attributes: ['userParameters', 'extensionAttribute1', 'sAMAccountName'] });
    expect(searchEntries[0].sAMAccountName).toBe(u.sAMAccountName);
    expect(searchEntries[0].userParameters).toEqual([]);
    await expect(c.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userParameters', values: ['x'] }) }))).rejects.toBeInstanceOf(InsufficientAccessError);
    await expect(as(u.dn, 'wrong-password')).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('refuses anonymous binds', async () => {
    const c = await as(undefined);
    await expect(c.bind('', '')).rejects.toThrow();
    await expect(c.search(lab.slapd.usersDN, { filter: '(objectClass=user)' })).rejects.toThrow();
  });

  it('lets the service account write the OTP attribute under Users only, with compare-and-swap semantics', async () => {
    const svc = await as(lab.slapd.serviceDN, lab.slapd.servicePassword);
    const u = lab.seed.users.find((x) => x.kind === 'single')!;
    const next = encryptValue([{ name: 'new', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEH' }], lab.newKey);
    const cas = (from: string, to: string) =>
      svc.modify(u.dn, [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'userParameters', values: [from] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'userParameters', values: [to] }) }),
      ]);
    // A stale expected value fails with 16 and changes nothing.
    await expect(cas(u.value!.replace('"', "'"), next)).rejects.toBeInstanceOf(NoSuchAttributeError);
    await expect(cas(u.value!.toUpperCase(), next)).rejects.toBeInstanceOf(NoSuchAttributeError);
    const read = async () => (await svc.search(u.dn, { scope: 'base', attributes: ['userParameters'] })).searchEntries[0].userParameters;
    expect(await read()).toBe(u.value);
    await cas(u.value!, next);
    expect(await read()).toBe(next);
    // SINGLE-VALUE: adding a second value fails with 19.
    const err = await svc.modify(u.dn, new Change({ operation: 'add', modification: new Attribute({ type: 'userParameters', values: ['#@x=JBSWY3DPEHPK3PXP&,'] }) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConstraintViolationError);
    expect((err as ConstraintViolationError).code).toBe(19);
    // Other attributes, and OTP attributes outside the users OU, are not the service account's to change.
    await expect(svc.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: ['x@y'] }) }))).rejects.toBeInstanceOf(InsufficientAccessError);
    await expect(svc.modify(lab.slapd.serviceDN, new Change({ operation: 'replace', modification: new Attribute({ type: 'userParameters', values: ['x'] }) }))).rejects.toBeInstanceOf(
      InsufficientAccessError,
    );
  });

  it('exactly one of ten racing compare-and-swap writers wins', async () => {
    const u = lab.seed.users.filter((x) => x.kind === 'multi')[3];
    const writers = await Promise.all(Array.from({ length: 10 }, () => as(lab.slapd.serviceDN, lab.slapd.servicePassword)));
    const results = await Promise.allSettled(
      writers.map((c, i) =>
        c.modify(u.dn, [
          new Change({ operation: 'delete', modification: new Attribute({ type: 'userParameters', values: [u.value!] }) }),
          new Change({ operation: 'add', modification: new Attribute({ type: 'userParameters', values: [`#@w${i}=JBSWY3DPEHPK3PXP&,`] }) }),
        ]),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as NoSuchAttributeError).code).toBe(16);
  });

  it('maintains memberOf through the overlay and matches AD bitwise filters', async () => {
    const svc = await as(lab.slapd.serviceDN, lab.slapd.servicePassword);
    const { searchEntries } = await svc.search(lab.slapd.usersDN, {
      filter: `(&(objectClass=user)(memberOf=${lab.slapd.otpGroupDN}))`,
      attributes: ['sAMAccountName'],
      paged: { pageSize: 500 },
    });
    expect(searchEntries.length).toBe(lab.seed.users.filter((u) => u.inOtpGroup).length + 1);
    const enabled = await svc.search(lab.slapd.usersDN, {
      filter: '(&(sAMAccountName=user00001)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
      attributes: ['cn'],
    });
    expect(enabled.searchEntries).toHaveLength(1);
  });

  it('serves LDAPS with a certificate the lab CA vouches for, and not to a client without the CA', async () => {
    const c = await as(lab.slapd.serviceDN, lab.slapd.servicePassword, lab.slapd.ldapsUrl);
    const { searchEntries } = await c.search(lab.seed.canary.dn, { scope: 'base', attributes: ['sAMAccountName'] });
    expect(searchEntries[0].sAMAccountName).toBe('canary');
    const untrusting = new Client({ url: lab.slapd.ldapsUrl, timeout: 5000 });
    await expect(untrusting.bind(lab.slapd.serviceDN, lab.slapd.servicePassword)).rejects.toThrow(/self[- ]signed|certificate/i);
    await untrusting.unbind().catch(() => undefined);
  });

  it('stop() ends the process and frees both ports', async () => {
    await Promise.all(clients.splice(0).map((c) => c.unbind().catch(() => undefined)));
    await lab.slapd.stop();
    expect(isRunning(lab.slapd.pid)).toBe(false);
    expect(await refusesConnections(portOf(lab.slapd.url))).toBe(true);
    expect(await refusesConnections(portOf(lab.slapd.ldapsUrl))).toBe(true);
  });
});
