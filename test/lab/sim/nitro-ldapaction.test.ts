// authenticationldapaction on the simulator: the fields the product reads, numbers as numbers,
// the bind password never in a reply, an unknown name as 258, an appliance without actions as a
// list with no resource key; the default action made from the simulator's directory; and a relay
// that holds back what the far side sends, in order.
import { createServer, connect, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { startRelay } from '../../../src/lab/sim/relay.js';
import { freePort } from '../../../src/lab/processes.js';
import { labTls, login, nitro } from './helpers.js';

let sim: RunningSimulator;
const BIND_PASSWORD = 'never-shown-bind-password';

beforeAll(async () => {
  const tls = labTls();
  sim = await startSimulator({
    appliances: [
      {
        name: 'adc1',
        firmware: 'multi',
        username: 'nsroot',
        password: 'nsroot-pass',
        ldapActions: [
          { name: 'ldap-pw', serverip: '10.0.0.5', serverport: 636, sectype: 'SSL', ldapbase: 'dc=corp', ldapbinddn: 'cn=svc,dc=corp', bindPassword: BIND_PASSWORD, ldaploginname: 'sAMAccountName' },
          {
            name: 'ldap-otp',
            servername: 'dc2.corp.example',
            serverport: 389,
            sectype: 'TLS',
            ldapbase: 'ou=Users,dc=corp',
            ldapbinddn: 'cn=svc,dc=corp',
            bindPassword: BIND_PASSWORD,
            ldaploginname: 'userPrincipalName',
            searchfilter: 'memberOf=cn=OTP,dc=corp',
            otpsecret: 'extensionAttribute15',
          },
        ],
      },
      { name: 'adc2', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass' },
    ],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
    directory: { url: 'ldaps://127.0.0.1:1636', baseDN: 'dc=lab', bindDN: 'cn=svc-otp,dc=lab', bindPassword: BIND_PASSWORD, attribute: 'userParameters', userNameAttribute: 'sAMAccountName' },
  });
});
afterAll(async () => {
  await sim.stop();
});

async function get(appliance: number, path: string) {
  const base = sim.appliances[appliance].nitroUrl;
  const token = await login(base, 'nsroot', 'nsroot-pass');
  return nitro(base, 'GET', path, undefined, { token });
}

describe('NITRO authenticationldapaction', () => {
  it('lists the actions with the fields a cutover reads, and never the bind password', async () => {
    const r = await get(0, 'authenticationldapaction');
    expect(r.status).toBe(200);
    const list = r.data['authenticationldapaction'] as Record<string, unknown>[];
    expect(list.map((a) => a['name'])).toEqual(['ldap-pw', 'ldap-otp']);
    expect(list[1]).toMatchObject({
      servername: 'dc2.corp.example',
      serverport: 389,
      sectype: 'TLS',
      ldapbase: 'ou=Users,dc=corp',
      ldaploginname: 'userPrincipalName',
      searchfilter: 'memberOf=cn=OTP,dc=corp',
      otpsecret: 'extensionAttribute15',
    });
    expect(list[0]).not.toHaveProperty('otpsecret');
    expect(JSON.stringify(r.data)).not.toContain(BIND_PASSWORD);
    expect(Object.keys(list[0]).some((k) => k.includes('password'))).toBe(false);
  });

  it('reads one by name, and answers 258 for a name it does not have', async () => {
    const one = await get(0, 'authenticationldapaction/ldap-otp');
    expect((one.data['authenticationldapaction'] as unknown[]).length).toBe(1);
    const none = await get(0, 'authenticationldapaction/nope');
    expect(none.status).toBe(404);
    expect(none.data.errorcode).toBe(258);
  });

  it('gives an appliance configured without actions one made from the simulator directory', async () => {
    const r = await get(1, 'authenticationldapaction');
    expect(r.data['authenticationldapaction']).toEqual([
      expect.objectContaining({ name: 'ldap-otp', serverip: '127.0.0.1', serverport: 1636, sectype: 'SSL', ldapbase: 'dc=lab', otpsecret: 'userParameters' }),
    ]);
  });
});

describe('the replication relay', () => {
  let echo: Server;
  let relay: Server;
  afterAll(async () => {
    await new Promise<void>((r) => relay.close(() => r()));
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it('passes everything through, in order, the configured delay late', async () => {
    echo = createServer((s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const port = await freePort();
    relay = await startRelay({ port, targetPort: (echo.address() as { port: number }).port, delayMs: 300 });
    const c = connect(port, '127.0.0.1');
    const got: { at: number; text: string }[] = [];
    c.on('data', (d) => got.push({ at: Date.now(), text: d.toString() }));
    await new Promise<void>((r) => c.once('connect', () => r()));
    const sent = Date.now();
    for (const part of ['one,', 'two,', 'three']) c.write(part);
    while (got.map((g) => g.text).join('') !== 'one,two,three' && Date.now() - sent < 3000) await new Promise((r) => setTimeout(r, 20));
    c.destroy();
    expect(got.map((g) => g.text).join('')).toBe('one,two,three');
    expect(got[0].at - sent).toBeGreaterThanOrEqual(290);
  });
});
