// The logon check against the lab gateway switched to behaviours real gateways show: the RfWebUI
// theme and its LogonPoint redirect, the /p/u/ exchange, every error style, the post-logon steps,
// push-only and EPA factors, types the check does not know, and the 13.1-63 classic Origin rule.
// Each case counts the credential posts that reached the gateway: never more than one per factor.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logonCheck, newAcceptedSteps, type LogonCheckOptions, type LogonResult } from '../../src/gateway/index.js';
import { labState, setGatewayOptions, setOtpFactor, startSimulator, type RunningSimulator, type SimGatewayOptions } from '../../src/lab/sim/index.js';
import { newTotpSecret, type SeededUser } from '../../src/lab/seed.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import { totpCode } from '../../src/otp/index.js';
import { startTestDirectory, type TestDirectory, preloadOldKey } from '../helpers/directory.js';
import { fakeClock } from './clock.js';
import { request, type HttpResponse } from '../../src/http/request.js';

let dir: TestDirectory;
let sim: RunningSimulator;
let gatewayUrl: string;
let controlUrl: string;
/** Users with one good device, each used for one successful logon (a step's code is accepted once). */
let fresh: SeededUser[];

beforeAll(async () => {
  dir = await startTestDirectory({ users: 24 });
  const { slapd, oldKey } = dir;
  sim = await startSimulator({
    appliances: [
      {
        name: 'adc1',
        firmware: 'multi',
        username: 'nsroot',
        password: 'nsroot-pass',
        preload: preloadOldKey(oldKey),
      },
    ],
    tls: selfSignedCert({ cn: '127.0.0.1' }),
    directory: {
      url: slapd.url,
      baseDN: slapd.baseDN,
      bindDN: slapd.serviceDN,
      bindPassword: slapd.servicePassword,
      attribute: slapd.attribute,
      userNameAttribute: 'sAMAccountName',
    },
    control: true,
  });
  // Plain HTTP keeps the focus on the exchange; TLS is covered by lab-gateway.test.ts.
  gatewayUrl = sim.appliances[0].gatewayHttpUrl;
  controlUrl = sim.appliances[0].controlUrl!;
  fresh = dir.seed.users.filter((u) => u.kind === 'single' && u.devices.length === 1);
});

afterAll(async () => {
  await sim?.stop();
  await dir?.stop();
});

let postsBefore = 0;
beforeEach(async () => {
  postsBefore = (await labState(controlUrl)).gatewayPosts.length;
});

async function gateway(options: SimGatewayOptions, otpFactor: 'combined' | 'separate' = 'combined'): Promise<void> {
  await setOtpFactor(controlUrl, otpFactor);
  await setGatewayOptions(controlUrl, options);
}

/** The credential posts this test made, as the gateway saw them: path and field names. */
async function posts(): Promise<{ path: string; fields: string[] }[]> {
  return (await labState(controlUrl)).gatewayPosts.slice(postsBefore);
}

function expectAtMostOncePerFactor(seen: { fields: string[] }[], password: number, passcode: number): void {
  expect(seen.filter((p) => p.fields.includes('passwd'))).toHaveLength(password);
  expect(seen.filter((p) => p.fields.includes('passwd1'))).toHaveLength(passcode);
}

function nextUser(): SeededUser {
  const u = fresh.shift();
  if (!u) throw new Error('test fixture: out of users with one device');
  return u;
}

function check(user: SeededUser, extra: Partial<LogonCheckOptions> = {}): Promise<LogonResult> {
  return logonCheck({
    gatewayUrl,
    user: user.sAMAccountName,
    password: user.password,
    passcode: { kind: 'secret', secret: user.devices[0].secret },
    clock: fakeClock(),
    minSecondsLeft: 0,
    acceptedSteps: newAcceptedSteps(),
    ...extra,
  });
}

describe('RfWebUI gateway: where the logon starts', () => {
  it('follows /vpn/index.html to /logon/LogonPoint/ and logs on through nFactor', async () => {
    await gateway({ theme: 'nfactor' });
    const r = await check(nextUser(), { flow: 'auto' });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'nfactor', loggedOff: true });
    expectAtMostOncePerFactor(await posts(), 1, 1);
  });

  it('the classic flow on an RfWebUI gateway stops before posting anything, naming the redirect', async () => {
    await gateway({ theme: 'nfactor' });
    const r = await check(nextUser(), { flow: 'classic' });
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/redirects to \/logon\/LogonPoint\/tmindex\.html.*nFactor/);
    expect(await posts()).toEqual([]);
  });

  it('uses /p/u/ when the gateway serves the exchange only there, and follows its PostBack', async () => {
    await gateway({ theme: 'nfactor', nfactorPaths: ['/p/u/'] });
    const r = await check(nextUser(), { flow: 'nfactor' });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'nfactor' });
    expect((await posts()).map((p) => p.path)).toEqual(['/p/u/doAuthentication.do']);
  });
});

describe('error styles end the check at once, blaming the factor that was answered', () => {
  for (const errorStyle of ['error', 'nsg-l20n-error', 'nsg-auth-failure'] as const) {
    it(`${errorStyle}: a wrong password is wrong-password after one post`, async () => {
      await gateway({ errorStyle });
      const u = nextUser();
      const r = await check(u, { password: 'Not-The-Password-9' });
      expect(r).toMatchObject({ outcome: 'wrong-password', flow: 'nfactor' });
      expect(JSON.stringify(r)).not.toContain('Not-The-Password-9');
      expectAtMostOncePerFactor(await posts(), 1, 1);
      fresh.push(u);
    });

    it(`${errorStyle}: a wrong passcode in a separate factor is wrong-passcode, each factor posted once`, async () => {
      await gateway({ errorStyle }, 'separate');
      const u = nextUser();
      const r = await check(u, { passcode: { kind: 'secret', secret: newTotpSecret() } });
      expect(r).toMatchObject({ outcome: 'wrong-passcode', flow: 'nfactor' });
      const seen = await posts();
      expectAtMostOncePerFactor(seen, 1, 1);
      expect(seen.map((p) => p.fields)).toEqual([['passwd'], ['passwd1']]);
      fresh.push(u);
    });
  }
});

describe('post-logon steps and factors the check cannot answer', () => {
  it('answers the client choice (nsg-setclient) after a good logon', async () => {
    await gateway({ setClientStep: true });
    const r = await check(nextUser());
    expect(r).toMatchObject({ outcome: 'ok', loggedOff: true });
    expect(r.message).toMatch(/nsg-setclient/);
    expectAtMostOncePerFactor(await posts(), 1, 1);
  });

  it('an EPA scan after a good logon: the session cookie proves the logon', async () => {
    await gateway({ epa: 'after' }, 'separate');
    const r = await check(nextUser());
    expect(r).toMatchObject({ outcome: 'ok', loggedOff: true });
    expect(r.message).toMatch(/nsg-epa.*not run by this check/);
    expectAtMostOncePerFactor(await posts(), 1, 1);
  });

  it('an EPA scan before the logon: unexpected-page naming it, no credential posted', async () => {
    await gateway({ epa: 'before' });
    const r = await check(nextUser());
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/endpoint analysis scan \(nsg-epa\) before any credentials/);
    expect(await posts()).toEqual([]);
  });

  it('a push-only second factor is push-only, with the password posted once and no passcode at all', async () => {
    await gateway({ pushOnly: true });
    const u = nextUser();
    const r = await check(u);
    expect(r).toMatchObject({ outcome: 'push-only', flow: 'nfactor' });
    expect(r.message).toMatch(/password was accepted.*push notification \(nsg_push\)/);
    expectAtMostOncePerFactor(await posts(), 1, 0);
    fresh.push(u);
  });

  it('a requirement type it does not know: unexpected-page naming the type, nothing posted', async () => {
    await gateway({ extraRequirementType: 'nsg-fingerprint' });
    const r = await check(nextUser());
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/type "nsg-fingerprint"/);
    expect(await posts()).toEqual([]);
  });

  it('a label type it does not know: unexpected-page naming the type, nothing posted', async () => {
    await gateway({ extraLabelType: 'nsg-hologram' });
    const r = await check(nextUser());
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/label of type "nsg-hologram"/);
    expect(await posts()).toEqual([]);
  });
});

describe('classic logon on builds that require Origin (13.1-63+)', () => {
  it('our client sends Origin, Referer and the page cookies and logs on', async () => {
    await gateway({ classicRequiresOrigin: true });
    const r = await check(nextUser(), { flow: 'classic' });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'classic', loggedOff: true });
    expectAtMostOncePerFactor(await posts(), 1, 1);
  });

  it('a POST without Origin is answered NSC_VPNERR 4001 without the credentials being checked', async () => {
    await gateway({ classicRequiresOrigin: true });
    const u = nextUser();
    const page = await gatewayGet('/vpn/index.html');
    const cookie = (page.headers['set-cookie'] ?? []).map((s) => s.split(';')[0]).join('; ');
    const res = await gatewayPost('/cgi/login', new URLSearchParams({ login: u.sAMAccountName, passwd: u.password, passwd1: '000000' }).toString(), {
      'Content-Type': 'application/x-www-form-urlencoded',
      Cookie: cookie,
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/vpn/index.html');
    expect(String(res.headers['set-cookie'])).toContain('NSC_VPNERR=4001');
    expect((await labState(controlUrl)).gatewayLog.at(-1)).toMatchObject({ ok: false, reason: expect.stringMatching(/without the Origin/) });
    fresh.push(u);
  });

  it('behind a proxy that strips Origin, the check reports refused-4001 and names the Origin rule, not a wrong password', async () => {
    await gateway({ classicRequiresOrigin: true });
    const proxy = await originStrippingProxy(gatewayUrl);
    try {
      const u = nextUser();
      const r = await check(u, { flow: 'classic', gatewayUrl: proxy.url });
      expect(r.outcome).toBe('refused-4001');
      expect(r.message).toMatch(/Origin/);
      expectAtMostOncePerFactor(await posts(), 1, 1);
      fresh.push(u);
    } finally {
      await proxy.close();
    }
  });

  it('accepts /cgi/setclient by POST as well as GET', async () => {
    await gateway({});
    const u = nextUser();
    const page = await gatewayGet('/vpn/index.html');
    const jar = (page.headers['set-cookie'] ?? []).map((s) => s.split(';')[0]);
    const code = totpCode(u.devices[0].secret);
    const login = await gatewayPost('/cgi/login', new URLSearchParams({ login: u.sAMAccountName, passwd: u.password, passwd1: code }).toString(), {
      'Content-Type': 'application/x-www-form-urlencoded',
      Cookie: jar.join('; '),
    });
    const session = (login.headers['set-cookie'] ?? []).find((s) => s.startsWith('NSC_AAAC='))!.split(';')[0];
    const byPost = await gatewayPost('/cgi/setclient?wica', '', { Cookie: session });
    const byGet = await gatewayGet('/cgi/setclient?wica', { Cookie: session });
    expect([byPost.status, byGet.status]).toEqual([200, 200]);
    const stranger = await gatewayPost('/cgi/setclient?wica', '', { Cookie: 'NSC_AAAC=forged' });
    expect(stranger.status).toBe(302);
  });
});

/** A request to the lab gateway as a script sends it: no Origin, no redirect followed. */
function gatewayGet(path: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return request({ method: 'GET', url: `${gatewayUrl}${path}`, headers });
}

function gatewayPost(path: string, body: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return request({ method: 'POST', url: `${gatewayUrl}${path}`, headers, body });
}

/** A 127.0.0.1 reverse proxy that drops the Origin header, as some front ends do. */
async function originStrippingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers = { ...req.headers, host: upstream.host };
    delete headers.origin;
    const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
