// Where a logon starts: the gateway's logon page, followed through its redirects as a browser
// would. An RfWebUI (nFactor) virtual server sends the classic page on to /logon/LogonPoint/…,
// which is how the check learns the flow from the gateway instead of assuming it; the page's
// cookies and its address (the Referer of every later POST) come along.
import type { GatewayResponse, GatewaySession } from './http.js';

export const LOGON_PAGE = '/vpn/index.html';
const LOGON_POINT = /\/logon\/LogonPoint\//i;
const MAX_HOPS = 5;

export interface StartPage {
  /** Path of the page the redirects ended on. */
  path: string;
  /** A hop went to /logon/LogonPoint/…: the virtual server runs the RfWebUI (nFactor) theme. */
  logonPoint: boolean;
  /** A hop left the gateway's origin (an identity provider in front); the chain stops there. */
  offsite?: string;
  /** The last answer. */
  response: GatewayResponse;
}

export async function openLogonPage(session: GatewaySession): Promise<StartPage> {
  const accept = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  let path = LOGON_PAGE;
  let logonPoint = false;
  for (let hop = 0; ; hop++) {
    const response = await session.get(path, accept);
    const redirect = response.status >= 300 && response.status < 400 ? response.location : undefined;
    if (redirect === undefined || hop === MAX_HOPS) {
      session.referer = `${session.origin}${path.split('?')[0] ?? path}`;
      return { path, logonPoint, response };
    }
    const target = new URL(redirect, `${session.origin}${path}`);
    if (target.origin !== session.origin) {
      session.referer = `${session.origin}${path.split('?')[0] ?? path}`;
      return { path, logonPoint, offsite: target.origin, response };
    }
    path = `${target.pathname}${target.search}`;
    if (LOGON_POINT.test(target.pathname)) logonPoint = true;
  }
}
