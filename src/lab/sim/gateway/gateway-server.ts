// The gateway virtual server of one node: nFactor (RfWebUI) and classic logon, logoff, and the
// /manageotp registration. In an HA pair both nodes answer, each delegating to the pair's shared
// configuration and the primary's files, as the VIP would.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SimNode } from '../appliance-state.js';
import { cookies, readBody, sendJson, sendText, splitUrl } from '../http-util.js';
import type { SimDirectoryConfig } from '../types.js';
import { readUser } from './directory.js';
import { authenticateUser, checkLogon, checkPasscode, type LogonOutcome } from './logon.js';
import { AUTH_RESPONSE_TYPE, LOGOFF, POSTBACK, loginRequirements, successResponse, type LoginField } from './nfactor-xml.js';
import { registerDevice } from './register.js';

const STATE_TTL_MS = 5 * 60_000;

// What the appliance shows: one text for a bad password, another for a bad passcode, and the
// generic one when the back end fails. The precise reason goes to the lab log only.
const MESSAGES: Record<Exclude<LogonOutcome, { ok: true }>['kind'], string> = {
  credentials: 'Incorrect user name or password.',
  passcode: 'Incorrect passcode.',
  unavailable: 'Cannot complete your request.',
};

interface PendingLogon {
  created: number;
  /** Set between the password round and the passcode round of a two-factor policy. */
  passed?: { login: string; dn: string };
}

interface GatewayState {
  contexts: Map<string, PendingLogon>;
  sessions: Set<string>;
}

function token(bytes = 24): string {
  return randomBytes(bytes).toString('hex');
}

function isTls(req: IncomingMessage): boolean {
  return (req.socket as TLSSocket).encrypted === true;
}

function sessionCookie(req: IncomingMessage, value: string, expire = false): string {
  return `NSC_AAAC=${value}; Path=/; HttpOnly${isTls(req) ? '; Secure' : ''}${expire ? '; Expires=Thu, 01 Jan 1970 00:00:00 GMT' : ''}`;
}

async function formOrJson(req: IncomingMessage): Promise<Record<string, string>> {
  const raw = (await readBody(req, 64 * 1024)).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    if (!parsed || typeof parsed !== 'object') return {};
    return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')]));
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function newContext(state: GatewayState, passed?: PendingLogon['passed']): string {
  const now = Date.now();
  for (const [k, p] of state.contexts) if (now - p.created > STATE_TTL_MS) state.contexts.delete(k);
  const ctx = token(16);
  state.contexts.set(ctx, { created: now, ...(passed ? { passed } : {}) });
  return ctx;
}

const CLASSIC_PAGE = `<!DOCTYPE html>
<html><head><title>NetScaler Gateway</title></head><body>
<form method="post" action="/cgi/login" name="vpnForm" autocomplete="off">
<label for="login">User name</label><input type="text" id="login" name="login">
<label for="passwd">Password</label><input type="password" id="passwd" name="passwd">
<label for="passwd1">Passcode</label><input type="password" id="passwd1" name="passwd1">
<input type="submit" id="Log_On" value="Log On">
</form></body></html>
`;

export function createGatewayHandler(node: SimNode, dir: SimDirectoryConfig | undefined) {
  const state: GatewayState = { contexts: new Map(), sessions: new Set() };

  async function logon(flow: 'nfactor' | 'classic', form: Record<string, string>): Promise<LogonOutcome> {
    const user = form.login ?? '';
    const outcome = await checkLogon(node, dir, user, form.passwd ?? '', form.passwd1 ?? '');
    node.logGateway({ user, flow, ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) });
    return outcome;
  }

  function firstFields(): LoginField[] {
    return node.otpFactor === 'separate' ? ['login', 'passwd'] : ['login', 'passwd', 'passwd1'];
  }

  // The password round of a two-factor policy answers `next`; the passcode round re-reads the
  // user's value, since it may have changed (a re-encryption) between the rounds.
  async function nfactorRound(form: Record<string, string>, pending: PendingLogon | undefined): Promise<LogonOutcome | { next: PendingLogon['passed'] }> {
    if (pending?.passed) {
      const user = await readUser(dir!, pending.passed.login).catch(() => undefined);
      const outcome: LogonOutcome = user ? checkPasscode(node, user, form.passwd1 ?? '') : { ok: false, kind: 'unavailable', reason: 'user not readable' };
      node.logGateway({ user: pending.passed.login, flow: 'nfactor', ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) });
      return outcome;
    }
    if (node.otpFactor === 'combined') return logon('nfactor', form);
    const auth = await authenticateUser(dir, form.login ?? '', form.passwd ?? '');
    if ('ok' in auth) {
      node.logGateway({ user: form.login ?? '', flow: 'nfactor', ok: false, reason: auth.reason });
      return auth;
    }
    return { next: { login: form.login ?? '', dn: auth.dn } };
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { path } = splitUrl(req.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const route = `${method} ${path}`;
    switch (route) {
      case 'POST /nf/auth/getAuthenticationRequirements.do': {
        await readBody(req, 64 * 1024);
        sendText(res, 200, loginRequirements(newContext(state), undefined, firstFields()), AUTH_RESPONSE_TYPE, { 'Set-Cookie': `NSC_TASS=${token(8)}; Path=/; HttpOnly` });
        return;
      }
      case `POST ${POSTBACK}`: {
        const form = await formOrJson(req);
        const ctx = form.StateContext;
        const pending = ctx ? state.contexts.get(ctx) : undefined;
        if (ctx && !pending) {
          sendText(res, 200, loginRequirements(newContext(state), 'Your session has expired. Please log on again.', firstFields()), AUTH_RESPONSE_TYPE);
          return;
        }
        if (ctx) state.contexts.delete(ctx);
        const outcome = await nfactorRound(form, pending);
        if ('next' in outcome) {
          sendText(res, 200, loginRequirements(newContext(state, outcome.next), undefined, ['passwd1']), AUTH_RESPONSE_TYPE);
          return;
        }
        if (!outcome.ok) {
          const retry = pending?.passed && outcome.kind === 'passcode' ? (['passwd1'] as LoginField[]) : firstFields();
          const carry = retry.includes('login') ? undefined : pending?.passed;
          sendText(res, 200, loginRequirements(newContext(state, carry), MESSAGES[outcome.kind], retry), AUTH_RESPONSE_TYPE);
          return;
        }
        const session = token();
        state.sessions.add(session);
        sendText(res, 200, successResponse(), AUTH_RESPONSE_TYPE, { 'Set-Cookie': sessionCookie(req, session) });
        return;
      }
      case 'GET /':
        res.writeHead(302, { Location: '/vpn/index.html' });
        res.end();
        return;
      case 'GET /vpn/index.html':
      case 'GET /logon/LogonPoint/index.html':
        sendText(res, 200, CLASSIC_PAGE, 'text/html; charset=utf-8', { 'Set-Cookie': [`NSC_TEMP=xyz; Path=/`, `pwcount=0; Path=/`] });
        return;
      case 'POST /cgi/login': {
        const outcome = await logon('classic', await formOrJson(req));
        if (!outcome.ok) {
          res.writeHead(302, { Location: '/vpn/index.html', 'Set-Cookie': 'NSC_VPNERR=4001; Path=/' });
          res.end();
          return;
        }
        const session = token();
        state.sessions.add(session);
        res.writeHead(302, { Location: '/cgi/setclient?wica', 'Set-Cookie': [sessionCookie(req, session), 'NSC_VPNERR=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'] });
        res.end();
        return;
      }
      case 'GET /cgi/setclient': {
        const s = cookies(req).get('NSC_AAAC');
        if (!s || !state.sessions.has(s)) {
          res.writeHead(302, { Location: '/vpn/index.html' });
          res.end();
          return;
        }
        sendText(res, 200, '<html><body>Logged on</body></html>\n', 'text/html; charset=utf-8');
        return;
      }
      case 'GET /cgi/logout':
      case 'POST /cgi/logout':
      case `GET ${LOGOFF}`:
      case `POST ${LOGOFF}`: {
        const s = cookies(req).get('NSC_AAAC');
        if (s) state.sessions.delete(s);
        sendText(res, 200, '<html><body>You have logged off.</body></html>\n', 'text/html; charset=utf-8', { 'Set-Cookie': sessionCookie(req, 'xyz', true) });
        return;
      }
      case 'POST /manageotp/register': {
        let form: Record<string, string>;
        try {
          form = await formOrJson(req);
        } catch {
          sendJson(res, 400, { result: 'failure', message: 'malformed body' });
          return;
        }
        const user = form.user ?? form.login ?? '';
        const r = await registerDevice(node, dir, {
          user,
          password: form.password ?? form.passwd ?? '',
          deviceName: form.deviceName ?? '',
          ...(form.secret ? { secret: form.secret } : {}),
        });
        node.logGateway({ user, flow: 'register', ok: r.ok, ...(r.ok ? {} : { reason: r.message }) });
        const { ok, status, ...rest } = r;
        sendJson(res, status, { result: ok ? 'success' : 'failure', ...rest });
        return;
      }
      default:
        sendText(res, 404, 'Not Found\n', 'text/plain');
    }
  };
}
