// The classic-theme logon: the logon page first (it sets the cookies the form post needs, and
// its address is the Referer), then one form post carrying Origin and Referer as a browser's
// does — builds since 13.1-63 refuse a POST without them. The redirect is the answer:
// /cgi/setclient on success, back to the logon page with an NSC_VPNERR cookie on failure.
import type { FlowVerdict, LogonInputs } from './flow.js';
import { GatewayFailure, type GatewayResponse, type GatewaySession } from './http.js';
import { SESSION_COOKIE } from './nfactor.js';
import { openLogonPage, type StartPage } from './start-page.js';
import { classicVerdict, unexpectedPage } from './verdicts.js';

export const CLASSIC_LOGIN = '/cgi/login';

export async function classicLogon(session: GatewaySession, inputs: LogonInputs, opened?: StartPage): Promise<FlowVerdict> {
  const start = opened ?? (await openLogonPage(session));
  const page = start.response;
  if (start.logonPoint) {
    throw new GatewayFailure(
      'unexpected-page',
      `the logon page redirects to ${pathOf(start.path)}: this gateway runs the nFactor (RfWebUI) theme, which the classic flow cannot log on to; use the nfactor or auto flow`,
    );
  }
  if (start.offsite) throw new GatewayFailure('unexpected-page', `the logon page redirects to another site (${start.offsite}), an identity provider this check cannot use`);
  if (page.status !== 200 || !/<form[\s>]/i.test(page.body) || /captcha/i.test(page.body)) {
    throw unexpectedPage(pathOf(start.path), page.status, page.contentType, page.body);
  }
  const passcode = await inputs.passcode();
  const res = await session.postForm(CLASSIC_LOGIN, { login: inputs.user, passwd: inputs.password, passwd1: passcode });
  const location = res.location ?? '';
  const redirected = res.status >= 300 && res.status < 400;
  if (redirected && /\/cgi\/setclient/i.test(location)) {
    if (!session.jar.has(SESSION_COOKIE)) {
      throw new GatewayFailure('unexpected-page', `the gateway redirected to ${pathOf(location)} but set no ${SESSION_COOKIE} session cookie`);
    }
    await setClient(session, location);
    return { flow: 'classic', outcome: 'ok', message: 'logged on through the classic logon page' };
  }
  const vpnErr = res.cookiesSet.get('NSC_VPNERR') || undefined;
  if (redirected && vpnErr) return { flow: 'classic', ...classicVerdict(vpnErr, session.origin) };
  if (redirected && /\/logon\/LogonPoint\//i.test(location)) {
    throw new GatewayFailure('unexpected-page', `${CLASSIC_LOGIN} redirected to ${pathOf(location)}: this gateway runs the nFactor (RfWebUI) theme; use the nfactor or auto flow`);
  }
  throw unexpectedPage(CLASSIC_LOGIN, res.status, res.contentType, res.body);
}

/**
 * Follows the success redirect as a browser does (GET). Some builds and clients use POST for it,
 * so a refusal of the method is retried once with POST. A bounce back to the logon page means
 * the gateway did not take the session after all.
 */
async function setClient(session: GatewaySession, location: string): Promise<void> {
  const target = new URL(location, session.origin);
  const path = `${target.pathname}${target.search}`;
  let res: GatewayResponse = await session.get(path);
  if (res.status === 404 || res.status === 405) res = await session.postForm(path, {});
  const back = res.status >= 300 && res.status < 400 ? (res.location ?? '') : '';
  if (/\/vpn\/index\.html|\/logon\/LogonPoint\//i.test(back)) {
    throw new GatewayFailure('unexpected-page', `${pathOf(path)} sent the new session back to the logon page`);
  }
}

/** Only the path: a redirect's query string can carry session material. */
function pathOf(location: string): string {
  return location.split('?')[0] ?? location;
}
