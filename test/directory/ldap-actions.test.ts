// The pure parts of reading LDAP actions and comparing them with the inventory: field parsing
// with the appliance's defaults, the user filter as the appliance forms it, base containment,
// completing a directory section from an action, merging per-server censuses, and the lab's
// replication settings.
import { describe, expect, it } from 'vitest';
import type { CensusResult } from '../../src/directory/index.js';
import { parseDelay, otpAttributePerAppliance } from '../../src/lab/lab-directory.js';
import { actionUrl, actionUserFilter, parseLdapAction } from '../../src/nitro/index.js';
import { completeFromDraft, type DirectoryDraft, type Inventory } from '../../src/playbook/inventory.js';
import { completeDirectory, unlistedServers } from '../../src/steps/directory-from-actions.js';
import { baseContains } from '../../src/steps/ldap-actions.js';
import { mergeCensus, timeoutMs, unreachableRefusal } from '../../src/steps/replication.js';

const draft = (d: Partial<DirectoryDraft>): DirectoryDraft => ({ startTls: false, password: { kind: 'env', name: 'P', text: '${env:P}' }, extraAttributes: [], pageSize: 500, concurrency: 8, ...d });

describe('LDAP actions as NITRO returns them', () => {
  it('reads the fields, with port defaults by security type and the OTP attribute only when set', () => {
    const a = parseLdapAction({
      name: 'ldap-otp',
      serverip: '10.0.0.5',
      sectype: 'SSL',
      ldapbase: 'DC=corp',
      ldapbinddn: 'CN=svc',
      ldaploginname: 'sAMAccountName',
      searchfilter: 'memberOf=CN=OTP,DC=corp',
      otpsecret: 'userParameters',
    });
    expect(a).toMatchObject({ server: '10.0.0.5', port: 636, secType: 'SSL', otpSecret: 'userParameters' });
    expect(actionUrl(a)).toEqual({ url: 'ldaps://10.0.0.5:636', startTls: false });
    expect(actionUserFilter(a)).toBe('(&(memberOf=CN=OTP,DC=corp)(sAMAccountName=*))');
    const b = parseLdapAction({ name: 'pw', servername: 'dc.corp.example', serverport: 3268, sectype: 'TLS' });
    expect(b.otpSecret).toBeUndefined();
    expect(actionUrl(b)).toEqual({ url: 'ldap://dc.corp.example:3268', startTls: true });
    expect(actionUserFilter(b)).toBe('(sAMAccountName=*)');
    expect(actionUserFilter({ ...b, searchFilter: '(&(a=1)(b=2))' })).toBe('(&(&(a=1)(b=2))(sAMAccountName=*))');
  });

  it('authtimeout: as given (a number, or a numeric string), else the appliance default of 3 s', () => {
    expect(parseLdapAction({ name: 'a', authtimeout: 2 }).authTimeoutSec).toBe(2);
    expect(parseLdapAction({ name: 'a', authtimeout: '7.5' }).authTimeoutSec).toBe(7.5);
    expect(parseLdapAction({ name: 'a' }).authTimeoutSec).toBe(3);
    expect(parseLdapAction({ name: 'a', authtimeout: 0 }).authTimeoutSec).toBe(3);
    expect(parseLdapAction({ name: 'a', authtimeout: 'soon' }).authTimeoutSec).toBe(3);
  });

  it('a base contains the inventory base only at an RDN boundary, compared as servers compare DNs', () => {
    expect(baseContains('DC=corp,DC=example', 'OU=Users, DC=Corp,DC=example')).toBe(true);
    expect(baseContains('ou=Users,dc=corp,dc=example', 'ou=Users,dc=corp,dc=example')).toBe(true);
    expect(baseContains('ou=Users,dc=corp,dc=example', 'dc=corp,dc=example')).toBe(false);
    expect(baseContains('dc=example', 'ou=x,dc=otherexample')).toBe(false);
  });
});

describe('the directory section completed from the actions', () => {
  const inv = (d: DirectoryDraft) => ({ file: '/x/inventory.yaml', directoryDraft: d }) as unknown as Inventory;
  const action = {
    name: 'ldap-otp',
    server: '127.0.0.1',
    port: 1636,
    secType: 'SSL' as const,
    base: 'ou=Users,dc=lab',
    bindDN: 'cn=svc,dc=lab',
    loginName: 'sAMAccountName',
    searchFilter: '',
    otpSecret: 'extensionAttribute3',
    authTimeoutSec: 3,
  };

  it('fills what is missing from the first OTP action and says so; keeps what the inventory gives', () => {
    const spec = completeDirectory(inv(draft({ base: 'ou=Staff,ou=Users,dc=lab' })), [
      { appliance: 'adc1', actions: [{ ...action, name: 'pw-only', otpSecret: undefined }] },
      { appliance: 'adc2', actions: [action] },
    ]);
    expect(spec).toMatchObject({ base: 'ou=Staff,ou=Users,dc=lab', attribute: 'extensionAttribute3', bindDN: 'cn=svc,dc=lab', filter: '(objectClass=user)', url: 'ldaps://127.0.0.1:1636' });
    expect(spec.servers).toEqual([{ name: '127.0.0.1:1636', url: 'ldaps://127.0.0.1:1636', startTls: false, source: 'inventory' }]);
    expect(spec.fromActions.join('; ')).toMatch(/attribute extensionAttribute3 \(from adc2's LDAP action ldap-otp\)/);
    expect(spec.fromActions.join('; ')).not.toMatch(/base /);
  });

  it('refuses, naming the inventory, when no appliance has an action with an OTP attribute', () => {
    expect(() => completeDirectory(inv(draft({})), [{ appliance: 'adc1', actions: [], error: 'NITRO 1244' }])).toThrow(
      /inventory.yaml: the directory section lacks url or servers, bindDN, base, attribute.*adc1 \(NITRO 1244\)/,
    );
  });

  it('names servers the actions use that the inventory does not list', () => {
    const spec = completeFromDraft(draft({ servers: [{ name: 'dc1', url: 'ldaps://127.0.0.1:1636' }], bindDN: 'cn=svc', base: 'dc=lab', attribute: 'userParameters' }), [])!;
    const other = { ...action, port: 2636 };
    const u = unlistedServers(spec, [
      { appliance: 'adc1', actions: [action] },
      { appliance: 'adc2', actions: [other] },
      { appliance: 'adc3', actions: [other] },
    ]);
    expect(u).toEqual([{ server: { name: '127.0.0.1:2636', url: 'ldaps://127.0.0.1:2636', startTls: false, source: 'action' }, appliances: ['adc2', 'adc3'] }]);
  });
});

describe('the census over several servers', () => {
  const c = (devices: number, dn: string): CensusResult => ({
    base: 'b',
    filter: 'f',
    attribute: 'a',
    entries: 1,
    withValue: 1,
    empty: 0,
    multiValued: { entries: 0, examples: [] },
    legacy: { entries: 0, devices: 0 },
    encrypted: { entries: 1, devices },
    byKid: [{ kid: 'OLD', held: true, devices, entries: devices, examples: [dn] }],
    unreadable: { entries: 0, examples: [], devices: 0 },
    extraAttributes: [],
    durationMs: 1,
  });

  it('counts, per certificate, the server with the most devices and names it in the examples', () => {
    const m = mergeCensus([
      { server: 'dc1', census: c(0, 'cn=a') },
      { server: 'dc2', census: c(3, 'cn=b') },
      { server: 'dc3', error: 'refused', allowed: true },
    ]);
    expect(m.byKid[0]).toMatchObject({ kid: 'OLD', devices: 3, examples: ['cn=b (on dc2)'] });
    expect(m.servers).toHaveLength(3);
  });

  it('refuses a server it cannot read unless it is allowed', () => {
    expect(
      unreachableRefusal([
        { server: 'dc1', census: c(0, 'x') },
        { server: 'dc3', error: 'ECONNREFUSED', allowed: true },
      ]),
    ).toBeUndefined();
    expect(unreachableRefusal([{ server: 'dc2', error: 'ECONNREFUSED' }])).toMatch(/dc2 \(ECONNREFUSED\) could not be read.*allowUnreachable/);
    expect(() => mergeCensus([{ server: 'dc2', error: 'down' }])).toThrow(/no directory server could be read: dc2: down/);
  });

  it('reads replicationTimeout as seconds or a duration', () => {
    expect(timeoutMs({})).toBe(900_000);
    expect(timeoutMs({ replicationTimeout: 30 })).toBe(30_000);
    expect(timeoutMs({ replicationTimeout: '15m' })).toBe(900_000);
    expect(timeoutMs({ replicationTimeout: '1h' })).toBe(3_600_000);
  });
});

describe('lab replication settings', () => {
  it('reads a replication delay and refuses one out of range', () => {
    expect(parseDelay('10s')).toBe(10);
    expect(parseDelay('2m')).toBe(120);
    expect(parseDelay('500ms')).toBe(0.5);
    expect(parseDelay('7')).toBe(7);
    expect(() => parseDelay('50ms')).toThrow(/between 100ms and 1h/);
    expect(() => parseDelay('61m')).toThrow(/between 100ms and 1h/);
    expect(() => parseDelay('soon')).toThrow(/"soon" is not a duration/);
  });

  it('gives each appliance an OTP attribute from the lab schema', () => {
    expect(otpAttributePerAppliance(2, undefined, 'userParameters')).toEqual(['userParameters', 'userParameters']);
    expect(otpAttributePerAppliance(2, 'userParameters,extensionAttribute15', 'userParameters')).toEqual(['userParameters', 'extensionAttribute15']);
    expect(() => otpAttributePerAppliance(2, 'mail', 'userParameters')).toThrow(/"mail" is not one of the lab schema's OTP attributes/);
    expect(() => otpAttributePerAppliance(3, ['userParameters', 'extensionAttribute1'], 'x')).toThrow(/lists 2 attribute\(s\) for 3 appliance\(s\)/);
  });
});
