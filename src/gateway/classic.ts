// The classic-theme logon: the logon page first (it sets the cookies the form post needs), then
// one form post whose redirect is the answer: /cgi/setclient on success, back to the logon page
// with an NSC_VPNERR cookie on failure.
import type { FlowVerdict, LogonInputs } from './flow.js';
import { GatewayFailure, type GatewaySession } from './http.js';
import { SESSION_COOKIE } from './nfactor.js';
import { classicVerdict, unexpectedPage } from './verdicts.js';

export const CLASSIC_PAGE = '/vpn/index.html';
export const CLASSIC_LOGIN = '/cgi/login';

export async function classicLogon(session: GatewaySession, inputs: LogonInputs): Promise<FlowVerdict> {
  const page = await session.get(CLASSIC_PAGE);
  if (page.status !== 200 || !/<form[\s>]/i.test(page.body) || /captcha/i.test(page.body)) {
    throw unexpectedPage(CLASSIC_PAGE, page.status, page.contentType, page.body);
  }
  const passcode = await inputs.passcode();
  const res = await session.postForm(CLASSIC_LOGIN, { login: inputs.user, passwd: inputs.password, passwd1: passcode });
  const location = res.location ?? '';
  if (res.status >= 300 && res.status < 400 && /\/cgi\/setclient/i.test(location)) {
    if (!session.jar.has(SESSION_COOKIE)) {
      throw new GatewayFailure('unexpected-page', `the gateway redirected to ${pathOf(location)} but set no ${SESSION_COOKIE} session cookie`);
    }
    return { flow: 'classic', outcome: 'ok', message: 'logged on through the classic logon page' };
  }
  const vpnErr = session.jar.get('NSC_VPNERR');
  if (res.status >= 300 && res.status < 400 && vpnErr) return { flow: 'classic', ...classicVerdict(vpnErr) };
  throw unexpectedPage(CLASSIC_LOGIN, res.status, res.contentType, res.body);
}

/** Only the path: a redirect's query string can carry session material. */
function pathOf(location: string): string {
  return location.split('?')[0] ?? location;
}
