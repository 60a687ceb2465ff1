// Gateway behaviours the lab simulator does not produce, against tiny scripted servers:
// bot protection, a custom login schema, lock-out labels, a separate OTP factor, echoed secrets.
import { afterAll, describe, expect, it } from 'vitest';
import { logonCheck, newAcceptedSteps, type LogonCheckOptions } from '../../src/gateway/index.js';
import { GatewaySession } from '../../src/gateway/http.js';
import { authResponse, LOGIN_FIELDS, sendXml, startFakeGateway, type FakeGateway } from './fake-gateway.js';
import { fakeClock, timeInStep } from './clock.js';
import { totpCode } from '../../src/otp/index.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
const PASSWORD = 'Canary-Pa55word!';
const NOW = timeInStep(8);
const CODE = totpCode(SECRET, { time: NOW });
const started: FakeGateway[] = [];

async function gateway(routes: Parameters<typeof startFakeGateway>[0]): Promise<FakeGateway> {
  const gw = await startFakeGateway(routes);
  started.push(gw);
  return gw;
}

function check(gw: FakeGateway, extra: Partial<LogonCheckOptions> = {}) {
  return logonCheck({
    gatewayUrl: gw.url,
    user: 'canary',
    password: PASSWORD,
    passcode: { kind: 'secret', secret: SECRET },
    clock: fakeClock(NOW),
    acceptedSteps: newAcceptedSteps(),
    ...extra,
  });
}

afterAll(async () => {
  await Promise.all(started.map((g) => g.close()));
});

describe('logonCheck against scripted gateways', () => {
  it('reports a captcha page as unexpected-page (bot protection), without posting credentials', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html><body><form><div class="g-recaptcha" data-sitekey="x"></div></form></body></html>');
      },
    });
    const r = await check(gw);
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/bot-protection/);
    expect(r.message.startsWith(`${gw.url}: `)).toBe(true);
    expect(gw.seen.some((s) => JSON.stringify(s.form).includes(PASSWORD))).toBe(false);
  });

  it('reports an HTML page where XML was expected as unexpected-page', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html><body>Welcome to our portal</body></html>');
      },
    });
    const r = await check(gw);
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/HTML page where the gateway's logon protocol was expected/);
  });

  it('stops at a login schema field it cannot fill', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', fields: [...LOGIN_FIELDS, { id: 'domain', type: 'ListBox', label: 'Domain' }] })),
    });
    const r = await check(gw);
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/requirement of type "listbox" \("domain"\)/);
    expect(gw.seen.filter((s) => s.method === 'POST').map((s) => s.path)).toEqual(['/nf/auth/getAuthenticationRequirements.do']);
  });

  it('recognises a lock-out label as user-locked', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS })),
      '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's2', fields: LOGIN_FIELDS, error: 'Your account has been locked out.' })),
    });
    const r = await check(gw);
    expect(r).toMatchObject({ outcome: 'user-locked', flow: 'nfactor' });
    expect(r.message).toMatch(/locked out/);
  });

  it('answers a separate OTP factor with the passcode, echoes StateContext and logs off', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 'round1', fields: LOGIN_FIELDS.slice(0, 2) }), ['NSC_TMAS=t1; Path=/']),
      '/nf/auth/doAuthentication.do': (q, res) => {
        if (q.form['StateContext'] === 'round1') {
          sendXml(res, authResponse({ result: 'more-info', state: 'round2', fields: [{ id: 'otp', type: 'password', label: 'Token code' }] }));
        } else {
          sendXml(res, authResponse({ result: 'success' }), ['NSC_AAAC=session1; Path=/; HttpOnly']);
        }
      },
      '/cgi/logout': (_q, res) => {
        res.writeHead(302, { Location: '/vpn/index.html', 'Set-Cookie': 'NSC_AAAC=xyz; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT' });
        res.end();
      },
    });
    const r = await check(gw);
    expect(r).toMatchObject({ outcome: 'ok', flow: 'nfactor', loggedOff: true });
    const posts = gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do');
    expect(posts[0]?.form).toEqual({ login: 'canary', passwd: PASSWORD, StateContext: 'round1' });
    expect(posts[1]?.form).toEqual({ otp: CODE, StateContext: 'round2' });
    expect(posts[1]?.cookie).toContain('NSC_TMAS=t1');
    expect(gw.seen.at(-1)).toMatchObject({ path: '/cgi/logout', cookie: expect.stringContaining('NSC_AAAC=session1') });
  });

  it('blames the passcode when it was posted alone in the failing round', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 'r1', fields: LOGIN_FIELDS.slice(0, 2) })),
      '/nf/auth/doAuthentication.do': (q, res) =>
        sendXml(
          res,
          q.form['StateContext'] === 'r1'
            ? authResponse({ result: 'more-info', state: 'r2', fields: [{ id: 'passwd1', type: 'password', label: 'Passcode' }] })
            : authResponse({ result: 'more-info', state: 'r3', fields: [{ id: 'passwd1', type: 'password' }], error: 'Try again' }),
        ),
    });
    const r = await check(gw);
    expect(r.outcome).toBe('wrong-passcode');
    expect(gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do')).toHaveLength(2);
  });

  // An error label with no text still ends the check, blaming the factor the failing post carried;
  // were it ignored, the round would look like the form again and the check would stop as
  // unexpected-page (after refusing, rightly, to post the password twice).
  it.each([
    { errorType: 'error', factor: 'password', outcome: 'wrong-password' },
    { errorType: 'nsg-l20n-error', factor: 'passcode', outcome: 'wrong-passcode' },
  ])('an $errorType label without text after the $factor is $outcome, with no second credential post', async ({ errorType, factor, outcome }) => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 'r1', fields: LOGIN_FIELDS.slice(0, 2) })),
      '/nf/auth/doAuthentication.do': (q, res) => {
        const failing = factor === 'password' ? 'r1' : 'r2';
        if (q.form['StateContext'] === failing) {
          // The form again, as a gateway shows it after a failure, with the textless label.
          sendXml(res, authResponse({ result: 'more-info', state: 'r3', fields: LOGIN_FIELDS.slice(0, 2), error: '', errorType }));
        } else {
          sendXml(res, authResponse({ result: 'more-info', state: 'r2', fields: [{ id: 'passwd1', type: 'password', label: 'Passcode' }] }));
        }
      },
    });
    const r = await check(gw);
    expect(r).toMatchObject({ outcome, flow: 'nfactor' });
    expect(r.message).toContain(`(${errorType} label without text)`);
    const posts = gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do');
    expect(posts).toHaveLength(factor === 'password' ? 1 : 2);
    expect(posts.filter((p) => p.form['passwd'] !== undefined)).toHaveLength(1);
    expect(posts.filter((p) => p.form['passwd1'] !== undefined)).toHaveLength(factor === 'password' ? 0 : 1);
  });

  it('a textless error label beside an NSC_VPNERR lock-out code is user-locked: the code says more than the empty label', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 'r1', fields: LOGIN_FIELDS })),
      '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 'r2', fields: LOGIN_FIELDS, error: '' }), ['NSC_VPNERR=4015; Path=/']),
    });
    const r = await check(gw);
    expect(r).toMatchObject({ outcome: 'user-locked', flow: 'nfactor' });
    expect(r.message).toMatch(/NSC_VPNERR 4015/);
    expect(gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do')).toHaveLength(1);
  });

  it('never lets a secret the gateway echoes into a message or warning', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', fields: LOGIN_FIELDS })),
      '/nf/auth/doAuthentication.do': (q, res) => sendXml(res, authResponse({ result: 'more-info', fields: LOGIN_FIELDS, error: `Bad password ${q.form['passwd']} or code ${q.form['passwd1']}` })),
    });
    const r = await check(gw);
    expect(r.outcome).toBe('wrong-password');
    const text = JSON.stringify(r);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(CODE);
    expect(text).toContain('[redacted]');
  });

  it('classic: an NSC_VPNERR lock-out code is user-locked; a form post without setclient is not ok', async () => {
    const gw = await gateway({
      '/vpn/index.html': (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Set-Cookie': 'NSC_TEMP=xyz; Path=/' });
        res.end('<html><body><form action="/cgi/login" method="post"></form></body></html>');
      },
      '/cgi/login': (_q, res) => {
        res.writeHead(302, { Location: '/vpn/index.html', 'Set-Cookie': 'NSC_VPNERR=4015; Path=/' });
        res.end();
      },
    });
    const r = await check(gw, { flow: 'auto' });
    expect(r).toMatchObject({ outcome: 'user-locked', flow: 'classic' });
    expect(gw.seen.find((s) => s.path === '/cgi/login')).toMatchObject({ form: { login: 'canary', passwd: PASSWORD, passwd1: CODE } });
  });

  // Public clients fetch /cgi/setclient with GET or with POST; a gateway that refuses the GET
  // (405) is asked once more with POST. Without that POST the session would be left unfinished
  // while the check said ok, so the test asserts the POST itself, not only the outcome.
  it('classic: /cgi/setclient refused by GET (405) is fetched with POST, credentials posted once', async () => {
    const gw = await gateway({
      '/vpn/index.html': (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Set-Cookie': 'NSC_TEMP=xyz; Path=/' });
        res.end('<html><body><form action="/cgi/login" method="post"></form></body></html>');
      },
      'POST /cgi/login': (_q, res) => {
        res.writeHead(302, { Location: '/cgi/setclient?wica', 'Set-Cookie': 'NSC_AAAC=session1; Path=/; HttpOnly' });
        res.end();
      },
      'GET /cgi/setclient': (_q, res) => {
        res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/html' });
        res.end('<html><body>Method not allowed</body></html>');
      },
      'POST /cgi/setclient': (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html><body>client chosen</body></html>');
      },
    });
    const r = await check(gw, { flow: 'classic' });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'classic' });
    expect(gw.seen.filter((s) => s.path === '/cgi/login')).toHaveLength(1);
    const setclient = gw.seen.filter((s) => s.path === '/cgi/setclient');
    expect(setclient.map((s) => s.method)).toEqual(['GET', 'POST']);
    expect(setclient[1]?.cookie).toContain('NSC_AAAC=session1');
  });

  it('sends the headers RfWebUI clients send, Origin and Referer on every POST, and finds /p/u/ when /nf/auth/ is absent', async () => {
    const gw = await gateway({
      'GET /vpn/index.html': (_q, res) => {
        res.writeHead(302, { Location: '/logon/LogonPoint/tmindex.html' });
        res.end();
      },
      'GET /logon/LogonPoint/tmindex.html': (_q, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html', 'Set-Cookie': 'NSC_TEMP=t; Path=/' });
        res.end('<html></html>');
      },
      '/p/u/getAuthenticationRequirements.do': (_q, res) =>
        sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS }).replace('/nf/auth/doAuthentication.do', '/p/u/doAuthentication.do')),
      '/p/u/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'success' }), ['NSC_AAAC=s; Path=/']),
    });
    const r = await check(gw, { flow: 'auto' });
    expect(r).toMatchObject({ outcome: 'ok', flow: 'nfactor' });
    const post = gw.seen.find((s) => s.path === '/p/u/doAuthentication.do')!;
    expect(post.headers).toMatchObject({
      origin: gw.url,
      referer: `${gw.url}/logon/LogonPoint/tmindex.html`,
      'x-citrix-isusinghttps': 'No',
      'x-requested-with': 'XMLHttpRequest',
    });
    expect(post.headers['x-citrix-am-credentialtypes']).toMatch(/nsg-setclient.*nsg-auth-failure.*nf-poll.*nsg_push/);
    expect(post.headers['x-citrix-am-labeltypes']).toMatch(/nsg-l20n-error/);
    expect(post.cookie).toContain('NSC_TEMP=t');
    // The redirect named an nFactor vserver: with no endpoint at all it would not fall back to classic.
    expect(gw.seen.some((s) => s.path === '/cgi/login')).toBe(false);
  });

  it('a failure marked only by NSC_VPNERR and an nsg-auth-failure row ends the check after one post', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS })),
      '/nf/auth/doAuthentication.do': (_q, res) =>
        sendXml(res, authResponse({ result: 'more-info', state: 's2', fields: [{ id: 'nsg-auth-failure', type: 'nsg-auth-failure', label: '' }, ...LOGIN_FIELDS] }), ['NSC_VPNERR=4015; Path=/']),
    });
    const r = await check(gw);
    expect(r).toMatchObject({ outcome: 'user-locked' });
    expect(r.message).toMatch(/NSC_VPNERR 4015/);
    expect(gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do')).toHaveLength(1);
  });

  it('a form that asks for the password again without an error is not answered a second time (no passcode in its field either)', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS.slice(0, 2) })),
      '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's2', fields: LOGIN_FIELDS.slice(0, 2) })),
    });
    const r = await check(gw);
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/asks for the password again \(field "passwd"\).*not posted a second time/);
    const posts = gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do');
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(gw.seen.map((s) => s.form))).not.toContain(CODE);
  });

  it('a second factor labelled as a password is not given the passcode', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS.slice(0, 2) })),
      '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's2', fields: [{ id: 'passwd_ad2', type: 'password', label: 'Domain password' }] })),
    });
    const r = await check(gw);
    expect(r.outcome).toBe('unexpected-page');
    expect(gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do')).toHaveLength(1);
    expect(JSON.stringify(gw.seen.map((s) => s.form))).not.toContain(CODE);
  });

  it('a polling step after a good logon counts as logged on once the session cookie is set', async () => {
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS })),
      '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', state: 's2', fields: [{ id: 'nf-poll', type: 'nf-poll', label: '' }] }), ['NSC_AAAC=s; Path=/']),
    });
    const r = await check(gw);
    expect(r).toMatchObject({ outcome: 'ok', flow: 'nfactor' });
    expect(r.message).toMatch(/nf-poll/);
    expect(gw.seen.filter((s) => s.path === '/nf/auth/doAuthentication.do')).toHaveLength(1);
  });

  // The post after the requirements carries the password and the passcode: a PostBack that leaves
  // the gateway (absolute or protocol-relative) is refused, and a second server stands ready to
  // show that nothing, credentials or cookies, reached it.
  it.each(['absolute', 'protocol-relative'])('a PostBack on another origin (%s) is unexpected-page, naming it; no credentials are sent anywhere', async (form) => {
    const elsewhere = await gateway({ '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'success' }), ['NSC_AAAC=stolen; Path=/']) });
    const away = `${form === 'absolute' ? elsewhere.url : elsewhere.url.replace(/^http:/, '')}/nf/auth/doAuthentication.do`;
    const gw = await gateway({
      '/nf/auth/getAuthenticationRequirements.do': (_q, res) =>
        sendXml(res, authResponse({ result: 'more-info', state: 's1', fields: LOGIN_FIELDS }).replace('<PostBack>/nf/auth/doAuthentication.do</PostBack>', `<PostBack>${away}</PostBack>`), [
          'NSC_TMAS=t1; Path=/',
        ]),
      '/nf/auth/doAuthentication.do': (_q, res) => sendXml(res, authResponse({ result: 'success' }), ['NSC_AAAC=s; Path=/']),
    });
    const r = await check(gw);
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toContain(`PostBack points at another origin (${elsewhere.url})`);
    expect(elsewhere.seen).toEqual([]);
    // On the gateway itself only the empty requirements post: nothing was posted to any PostBack.
    expect(gw.seen.filter((s) => s.method === 'POST').map((s) => s.path)).toEqual(['/nf/auth/getAuthenticationRequirements.do']);
    const everything = JSON.stringify([...gw.seen, ...elsewhere.seen].map((s) => [s.form, s.path]));
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(CODE);
  });

  it('the session itself sends nothing to another origin, whichever flow hands it the address', async () => {
    const elsewhere = await gateway({ '/x': (_q, res) => res.end('ok') });
    const gw = await gateway({});
    const session = new GatewaySession(gw.url);
    session.jar.store('NSC_AAAC=s; Path=/');
    try {
      for (const to of [`${elsewhere.url}/x`, `${elsewhere.url.replace(/^http:/, '')}/x`]) {
        await expect(session.postForm(to, { passwd: PASSWORD })).rejects.toMatchObject({ outcome: 'unexpected-page', message: expect.stringContaining(`another origin (${elsewhere.url})`) });
        await expect(session.get(to)).rejects.toMatchObject({ outcome: 'unexpected-page' });
      }
      // Its own origin written out in full is still the gateway.
      expect((await session.get(`${gw.url}/nowhere`)).status).toBe(404);
    } finally {
      session.close();
    }
    expect(elsewhere.seen).toEqual([]);
  });

  it('refuses a malformed pin or URL as bad input, before any request', async () => {
    const gw = await gateway({});
    await expect(check(gw, { tls: { fingerprintSha256: 'AB:CD' } })).rejects.toThrow(/not a SHA-256/);
    await expect(check(gw, { gatewayUrl: 'gateway.example.com' })).rejects.toThrow(/not a URL/);
    expect(gw.seen).toEqual([]);
  });

  it('with flow nfactor, a gateway without the nFactor endpoint is unexpected-page, not a silent fallback', async () => {
    const gw = await gateway({});
    const r = await check(gw, { flow: 'nfactor' });
    expect(r.outcome).toBe('unexpected-page');
    expect(r.message).toMatch(/no nFactor endpoint/);
    expect(gw.seen.map((s) => s.path)).toEqual(['/vpn/index.html', '/nf/auth/getAuthenticationRequirements.do', '/p/u/getAuthenticationRequirements.do']);
  });
});
