import { Attribute, Change, Client } from 'ldapts';
import { selfSignedCert } from '../../../src/lab/pki.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptValue, keyMaterialFromPem, kidsOf, totpCode } from '../../../src/otp/index.js';
import { failover, labState, setOtpFactor, startSimulator, type RunningSimulator } from '../../../src/lab/sim/index.js';
import { startTestDirectory, type TestDirectory } from '../../helpers/directory.js';
import { classicLogon, gatewayRequest, nfGetRequirements, nfLogon, nfPost, register } from './gateway-client.js';
import { labTls } from './helpers.js';

let dir: TestDirectory;
let sim: RunningSimulator;

function files(d: TestDirectory) {
  return [
    { name: 'otp-old.crt', content: d.oldKey.pem.certPem },
    { name: 'otp-old.key', content: d.oldKey.pem.keyPem },
    { name: 'otp-new.crt', content: d.newKey.pem.certPem },
    { name: 'otp-new.key', content: d.newKey.pem.keyPem },
  ];
}
const certkeys = [
  { certkey: 'otp-old', cert: 'otp-old.crt', key: 'otp-old.key' },
  { certkey: 'otp-new', cert: 'otp-new.crt', key: 'otp-new.key' },
];

beforeAll(async () => {
  dir = await startTestDirectory({ users: 30 });
  const tls = labTls();
  const s = dir.slapd;
  sim = await startSimulator({
    appliances: [
      // adc-old: only the old key bound (before the cutover); adc-both: old and new, new newest.
      { name: 'adc-old', firmware: 'multi', username: 'nsroot', password: 'nsroot-pass', preload: { files: files(dir), certkeys, userDataEncryptionKeys: ['otp-old'], otpEncryption: 'ON' } },
      {
        name: 'adc-both',
        firmware: 'multi',
        username: 'nsroot',
        password: 'nsroot-pass',
        preload: { files: files(dir), certkeys, userDataEncryptionKeys: ['otp-old', 'otp-new'], otpEncryption: 'ON' },
      },
      // An RfWebUI virtual server serving the exchange under /p/u/ only, set in the appliance's config.
      {
        name: 'adc-rfweb',
        firmware: 'multi',
        username: 'nsroot',
        password: 'nsroot-pass',
        preload: { files: files(dir), certkeys, userDataEncryptionKeys: ['otp-old'], otpEncryption: 'ON' },
        gateway: { theme: 'nfactor', nfactorPaths: ['/p/u/'], classicRequiresOrigin: true },
      },
    ],
    tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
    directory: {
      url: s.ldapsUrl,
      caPem: s.caPem,
      baseDN: s.baseDN,
      bindDN: s.serviceDN,
      bindPassword: s.servicePassword,
      attribute: s.attribute,
      userNameAttribute: 'sAMAccountName',
    },
    control: true,
  });
});
afterAll(async () => {
  await sim?.stop();
  await dir?.stop();
});

const gw = (name: string) => sim.appliances.find((a) => a.name === name)!;

async function setValue(dn: string, value: string): Promise<void> {
  const c = new Client({ url: dir.slapd.url });
  try {
    await c.bind(dir.slapd.rootDN, dir.slapd.rootPassword);
    await c.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'userParameters', values: [value] }) })]);
  } finally {
    await c.unbind();
  }
}

async function storedValue(dn: string): Promise<string | undefined> {
  const c = new Client({ url: dir.slapd.url });
  try {
    await c.bind(dir.slapd.rootDN, dir.slapd.rootPassword);
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['userParameters'] });
    const v = searchEntries[0]?.userParameters;
    return typeof v === 'string' ? v : undefined;
  } finally {
    await c.unbind();
  }
}

describe('gateway nFactor logon', () => {
  it('offers login, passwd and passwd1 with a StateContext and the postback', async () => {
    const r = await nfGetRequirements(gw('adc-old').gatewayUrl);
    expect(r.contentType).toContain('application/vnd.citrix.authenticateresponse-1+xml');
    expect(r.result).toBe('more-info');
    expect(r.stateContext).toMatch(/^[0-9a-f]{32}$/);
    expect(r.xml).toContain('<PostBack>/nf/auth/doAuthentication.do</PostBack>');
    for (const id of ['login', 'passwd', 'passwd1']) expect(r.xml).toContain(`<ID>${id}</ID>`);
  });

  it("accepts the canary's current TOTP, sets NSC_AAAC, and refuses the same code again", async () => {
    const c = dir.seed.canary;
    const code = totpCode(c.totpSecret);
    const ok = await nfLogon(gw('adc-old').gatewayUrl, c.sAMAccountName, c.password, code);
    expect(ok.result).toBe('success');
    expect(ok.cookie).toMatch(/^NSC_AAAC=[0-9a-f]+; Path=\/; HttpOnly; Secure/);
    const replay = await nfLogon(gw('adc-old').gatewayUrl, c.sAMAccountName, c.password, code);
    expect(replay).toMatchObject({ result: 'more-info', error: 'Incorrect passcode.' });
    expect((await labState(gw('adc-old').controlUrl!)).gatewayLog.at(-1)).toMatchObject({ ok: false, reason: 'passcode already used' });
  });

  it('refuses a wrong passcode and a wrong password with distinct texts', async () => {
    const c = dir.seed.canary;
    const stale = totpCode(c.totpSecret, { time: Date.now() - 10 * 60_000 });
    const wrongCode = await nfLogon(gw('adc-both').gatewayUrl, c.sAMAccountName, c.password, stale);
    expect(wrongCode).toMatchObject({ result: 'more-info', error: 'Incorrect passcode.' });
    expect(wrongCode.cookie).toBeUndefined();
    const wrongPass = await nfLogon(gw('adc-both').gatewayUrl, c.sAMAccountName, 'not-the-password', totpCode(c.totpSecret));
    expect(wrongPass).toMatchObject({ result: 'more-info', error: 'Incorrect user name or password.' });
    const nobody = await nfLogon(gw('adc-both').gatewayUrl, 'nobody-here', 'x', '123456');
    expect(nobody.error).toBe('Incorrect user name or password.');
  });

  it('fails a user whose value is under a KID no bound certificate has', async () => {
    const u = dir.seed.users.filter((x) => x.kind === 'single')[2];
    const stray = selfSignedCert({ cn: 'never bound' });
    const secret = 'KRSXG5CTMVRXEZLUKN2XAZLSKNSW';
    await setValue(u.dn, encryptValue([{ name: 'phone', secret }], keyMaterialFromPem(stray.certPem, stray.keyPem)));
    const r = await nfLogon(gw('adc-both').gatewayUrl, u.sAMAccountName, u.password, totpCode(secret));
    expect(r.error).toBe('Incorrect passcode.');
    expect((await labState(gw('adc-both').controlUrl!)).gatewayLog.at(-1)?.reason).toMatch(/cannot read the OTP value/);
  });

  it('reads legacy plaintext values', async () => {
    const u = dir.seed.users.find((x) => x.kind === 'legacy' && x.devices.length > 0)!;
    const r = await nfLogon(gw('adc-old').gatewayUrl, u.sAMAccountName, u.password, totpCode(u.devices[0].secret));
    expect(r.result).toBe('success');
  });
});

describe('gateway classic logon', () => {
  it('redirects to /cgi/setclient with NSC_AAAC on success, to /vpn/index.html with NSC_VPNERR on failure', async () => {
    const u = dir.seed.users.find((x) => x.kind === 'single')!;
    const bad = await classicLogon(gw('adc-old').gatewayHttpUrl, u.sAMAccountName, u.password, '000000');
    expect(bad.status).toBe(302);
    expect(bad.location).toBe('/vpn/index.html');
    expect(bad.cookies.join(';')).toContain('NSC_VPNERR=4001');
    const good = await classicLogon(gw('adc-old').gatewayHttpUrl, u.sAMAccountName, u.password, totpCode(u.devices[0].secret));
    expect(good.status).toBe(302);
    expect(good.location).toMatch(/^\/cgi\/setclient\?/);
    expect(good.cookies.join(';')).toMatch(/NSC_AAAC=[0-9a-f]+/);
  });
});

describe('registration (/manageotp)', () => {
  it('adds a device under the newest bound key with CAS, readable where that key is bound and not elsewhere', async () => {
    const u = dir.seed.users.filter((x) => x.kind === 'single')[1];
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
    const r = await register(gw('adc-both').gatewayUrl, { user: u.sAMAccountName, password: u.password, deviceName: 'new_phone', secret });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ result: 'success', certkey: 'otp-new', kid: dir.newKey.kidText, format: 'encrypted' });
    expect(r.data).not.toHaveProperty('secret');
    const value = (await storedValue(u.dn))!;
    expect(kidsOf(value)).toEqual([dir.oldKey.kidText, dir.newKey.kidText]);
    expect(value).not.toContain(secret);
    const onBoth = await nfLogon(gw('adc-both').gatewayUrl, u.sAMAccountName, u.password, totpCode(secret));
    expect(onBoth.result).toBe('success');
    const onOld = await nfLogon(gw('adc-old').gatewayUrl, u.sAMAccountName, u.password, totpCode(u.devices[0].secret));
    expect(onOld.error).toBe('Incorrect passcode.');
  });

  it('loses no device when registrations race (compare-and-swap, retried)', async () => {
    const u = dir.seed.users.find((x) => x.kind === 'none')!;
    const names = ['race_a', 'race_b', 'race_c'];
    const results = await Promise.all(names.map((deviceName) => register(gw('adc-both').gatewayUrl, { user: u.sAMAccountName, password: u.password, deviceName }, true)));
    for (const r of results) expect(r.data.result).toBe('success');
    const value = (await storedValue(u.dn))!;
    expect(kidsOf(value)).toHaveLength(3);
    for (const n of names) expect(value).toContain(`"${n}"`);
    const secretA = String(results[0].data.secret);
    expect((await nfLogon(gw('adc-both').gatewayUrl, u.sAMAccountName, u.password, totpCode(secretA))).result).toBe('success');
  });

  it('refuses a wrong password (401), a duplicate device name (409) and more than maxotpdevices (409)', async () => {
    const u = dir.seed.users.find((x) => x.kind === 'none')!;
    expect((await register(gw('adc-both').gatewayUrl, { user: u.sAMAccountName, password: 'wrong', deviceName: 'x1' })).status).toBe(401);
    expect((await register(gw('adc-both').gatewayUrl, { user: u.sAMAccountName, password: u.password, deviceName: 'race_a' })).status).toBe(409);
    expect((await register(gw('adc-both').gatewayUrl, { user: u.sAMAccountName, password: u.password, deviceName: 'fourth' })).status).toBe(200);
    const fifth = await register(gw('adc-both').gatewayUrl, { user: u.sAMAccountName, password: u.password, deviceName: 'fifth' });
    expect(fifth.status).toBe(409);
    expect(String(fifth.data.message)).toContain('at most 4');
  });
});

describe('gateway of an HA pair', () => {
  it('serves the VIP from the primary, and cannot decrypt after a failover to a node the key files never reached', async () => {
    const tls = labTls();
    const s = dir.slapd;
    const onlyOld = files(dir).slice(0, 2);
    const pair = await startSimulator({
      appliances: [
        {
          name: 'ha-a',
          firmware: 'multi',
          ha: { peer: 'ha-b', role: 'primary' },
          username: 'nsroot',
          password: 'p',
          preload: { files: onlyOld, certkeys: certkeys.slice(0, 1), userDataEncryptionKeys: ['otp-old'], otpEncryption: 'ON' },
        },
        { name: 'ha-b', firmware: 'multi', ha: { peer: 'ha-a', role: 'secondary' }, username: 'nsroot', password: 'p' },
      ],
      tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
      directory: { url: s.ldapsUrl, caPem: s.caPem, baseDN: s.baseDN, bindDN: s.serviceDN, bindPassword: s.servicePassword, attribute: s.attribute, userNameAttribute: 'sAMAccountName' },
      control: true,
    });
    try {
      const [a, b] = pair.appliances;
      // Users no other test in this file touches (singles 0-2 are taken above).
      const users = [...dir.seed.users.filter((x) => x.kind === 'single').slice(3), ...dir.seed.users.filter((x) => x.kind === 'multi')].slice(0, 3);
      expect(users).toHaveLength(3);
      const logon = (gwUrl: string, u: (typeof users)[number]) => nfLogon(gwUrl, u.sAMAccountName, u.password, totpCode(u.devices[0].secret));
      expect((await logon(b.gatewayUrl, users[0])).result).toBe('success');
      await failover(a.controlUrl!);
      const after = await logon(a.gatewayUrl, users[1]);
      expect(after.error).toBe('Incorrect passcode.');
      expect((await labState(a.controlUrl!)).gatewayLog.at(-1)?.reason).toMatch(/unusable keys: otp-old/);
      await failover(a.controlUrl!);
      expect((await logon(a.gatewayUrl, users[2])).result).toBe('success');
    } finally {
      await pair.stop();
    }
  });
});

describe('gateway nFactor with the passcode as a second factor', () => {
  it('asks login+passwd, then passwd1 in a second more-info round', async () => {
    const g = gw('adc-old');
    await setOtpFactor(g.controlUrl!, 'separate');
    try {
      const c = dir.seed.canary;
      const first = await nfGetRequirements(g.gatewayUrl);
      expect(first.xml).toContain('<ID>passwd</ID>');
      expect(first.xml).not.toContain('<ID>passwd1</ID>');
      const badPass = await nfPost(g.gatewayUrl, { login: c.sAMAccountName, passwd: 'wrong', StateContext: first.stateContext });
      expect(badPass.error).toBe('Incorrect user name or password.');
      expect(badPass.xml).toContain('<ID>login</ID>');
      const second = await nfPost(g.gatewayUrl, { login: c.sAMAccountName, passwd: c.password, StateContext: badPass.stateContext });
      expect(second.result).toBe('more-info');
      expect(second.error).toBeUndefined();
      expect(second.xml).toContain('<ID>passwd1</ID>');
      expect(second.xml).not.toContain('<ID>passwd</ID>');
      const wrong = await nfPost(g.gatewayUrl, { passwd1: '000000', StateContext: second.stateContext });
      expect(wrong.error).toBe('Incorrect passcode.');
      expect(wrong.xml).toContain('<ID>passwd1</ID>');
      // The next step's code: the canary's current one was spent by an earlier test.
      const code = totpCode(c.totpSecret, { time: Date.now() + 30_000 });
      const done = await nfPost(g.gatewayUrl, { passwd1: code, StateContext: wrong.stateContext });
      expect(done.result).toBe('success');
      expect(done.cookie).toMatch(/^NSC_AAAC=/);
      const stale = await nfPost(g.gatewayUrl, { passwd1: code, StateContext: second.stateContext });
      expect(stale.error).toBe('Your session has expired. Please log on again.');
    } finally {
      await setOtpFactor(g.controlUrl!, 'combined');
    }
  });
});

describe('gateway options set per appliance', () => {
  it('an RfWebUI appliance redirects its logon page and /cgi/login to LogonPoint and serves nFactor under /p/u/ only', async () => {
    const at = (path: string) => `${gw('adc-rfweb').gatewayUrl}${path}`;
    const page = await gatewayRequest('GET', at('/vpn/index.html'));
    expect([page.status, page.headers.location]).toEqual([302, '/logon/LogonPoint/tmindex.html']);
    expect((await gatewayRequest('POST', at('/nf/auth/getAuthenticationRequirements.do'), '')).status).toBe(404);
    const pu = await gatewayRequest('POST', at('/p/u/getAuthenticationRequirements.do'), '');
    expect(pu.status).toBe(200);
    expect(pu.body).toContain('<PostBack>/p/u/doAuthentication.do</PostBack>');
    const classic = await gatewayRequest('POST', at('/cgi/login'), 'login=x&passwd=y&passwd1=1', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect([classic.status, classic.headers.location]).toEqual([302, '/logon/LogonPoint/tmindex.html']);
    expect((await labState(gw('adc-rfweb').controlUrl!)).gateway).toEqual({ theme: 'nfactor', nfactorPaths: ['/p/u/'], classicRequiresOrigin: true });
  });

  it('refuses an option it does not have, or a bad value, naming it, and changes nothing', async () => {
    const url = `${gw('adc-rfweb').controlUrl!}/gateway`;
    for (const [body, says] of [
      [{ pushOnyl: true }, /unknown gateway option pushOnyl/],
      [{ theme: 'x1' }, /theme must be one of/],
      [{ nfactorPaths: ['/vpn/'] }, /nfactorPaths/],
    ] as const) {
      const res = await fetch(url, { method: 'PUT', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(says);
    }
    expect((await labState(gw('adc-rfweb').controlUrl!)).gateway.theme).toBe('nfactor');
    await expect(
      startSimulator({
        appliances: [{ name: 'bad', firmware: 'multi', username: 'u', password: 'p', gateway: { errorStyle: 'shout' as never } }],
        tls: { certPem: labTls().server.certPem, keyPem: labTls().server.keyPem },
      }),
    ).rejects.toThrow(/appliance bad: gateway option errorStyle must be one of/);
  });
});

// The gateway reads the server its LDAP action names, not the simulator's directory: two slapd
// seeded apart hold, for the same user DN, different passwords and different OTP values. The
// appliance holds both directories' keys, so a gateway that read the first server would accept
// the first value's code; it must accept only the second's, and register into the second.
describe('gateway reading the server its LDAP action names', () => {
  it('logs on and registers against the second directory, never the simulator default', async () => {
    const second = await startTestDirectory({ users: 5 });
    const tls = labTls();
    const s = dir.slapd;
    const s2 = second.slapd;
    const sim2 = await startSimulator({
      appliances: [
        {
          name: 'adc-dc2',
          firmware: 'multi',
          username: 'nsroot',
          password: 'p',
          preload: {
            files: [...files(dir).slice(0, 2), { name: 'dc2-old.crt', content: second.oldKey.pem.certPem }, { name: 'dc2-old.key', content: second.oldKey.pem.keyPem }],
            certkeys: [certkeys[0], { certkey: 'dc2-old', cert: 'dc2-old.crt', key: 'dc2-old.key' }],
            userDataEncryptionKeys: ['otp-old', 'dc2-old'],
            otpEncryption: 'ON',
          },
          // Plain LDAP: the second slapd has its own CA, which the simulator's directory does not carry.
          ldapActions: [
            {
              name: 'ldap-otp',
              serverip: '127.0.0.1',
              serverport: Number(new URL(s2.url).port),
              sectype: 'PLAINTEXT',
              ldapbase: s2.usersDN,
              ldapbinddn: s2.serviceDN,
              bindPassword: s2.servicePassword,
              ldaploginname: 'sAMAccountName',
              otpsecret: s2.attribute,
            },
          ],
        },
      ],
      tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
      directory: { url: s.ldapsUrl, caPem: s.caPem, baseDN: s.baseDN, bindDN: s.serviceDN, bindPassword: s.servicePassword, attribute: s.attribute, userNameAttribute: 'sAMAccountName' },
      control: true,
    });
    try {
      const g = sim2.appliances[0];
      const there = second.seed.users.find((x) => x.kind === 'single')!;
      const here = dir.seed.users.find((x) => x.dn === there.dn)!;
      expect(here.kind).toBe('single');
      expect(here.devices[0].secret).not.toBe(there.devices[0].secret);
      const firstValueBefore = await storedValue(here.dn);

      const ok = await nfLogon(g.gatewayUrl, there.sAMAccountName, there.password, totpCode(there.devices[0].secret));
      expect(ok.result, JSON.stringify((await labState(g.controlUrl!)).gatewayLog.at(-1))).toBe('success');
      // The first directory's device, under a key this appliance holds: refused, as it is not
      // the value the action's server has.
      const other = await nfLogon(g.gatewayUrl, there.sAMAccountName, there.password, totpCode(here.devices[0].secret));
      expect(other.error).toBe('Incorrect passcode.');
      // The first directory's password: that server is not asked.
      const pass = await nfLogon(g.gatewayUrl, there.sAMAccountName, here.password, totpCode(there.devices[0].secret, { time: Date.now() + 30_000 }));
      expect(pass.error).toBe('Incorrect user name or password.');

      const secret = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYX';
      const r = await register(g.gatewayUrl, { user: there.sAMAccountName, password: there.password, deviceName: 'dc2_phone', secret });
      expect(r.status).toBe(200);
      const c = new Client({ url: s2.url });
      try {
        await c.bind(s2.rootDN, s2.rootPassword);
        const { searchEntries } = await c.search(there.dn, { scope: 'base', attributes: [s2.attribute] });
        expect(String(searchEntries[0]?.[s2.attribute])).toContain('"dc2_phone"');
      } finally {
        await c.unbind();
      }
      expect(await storedValue(here.dn)).toBe(firstValueBefore);
      const withNew = await nfLogon(g.gatewayUrl, there.sAMAccountName, there.password, totpCode(secret));
      expect(withNew.result).toBe('success');
    } finally {
      await sim2.stop();
      await second.stop();
    }
  });
});
