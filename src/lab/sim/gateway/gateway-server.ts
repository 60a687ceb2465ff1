// The gateway virtual server of one node: nFactor (RfWebUI, under /nf/auth/ and /p/u/) and classic
// logon, logoff, and the /manageotp registration; node.gateway switches on the behaviours real
// appliances differ in (docs/fidelity.md). In an HA pair both nodes answer, each delegating to the
// pair's shared configuration and the primary's files, as the VIP would.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SimNode } from '../appliance-state.js';
import { cookies, readBody, sendJson, sendText, splitUrl } from '../http-util.js';
import type { SimDirectoryConfig } from '../types.js';
import { readUser } from './directory.js';
import { authenticateUser, checkLogon, checkPasscode, type LogonOutcome } from './logon.js';
import {
  AUTH_RESPONSE_TYPE,
  LOGOFF,
  NF_PREFIX,
  SETCLIENT_POSTBACK,
  epaFailed,
  epaRequirements,
  loginRequirements,
  pushRequirements,
  setClientRequirements,
  successResponse,
  type Failure,
  type LoginField,
} from './nfactor-xml.js';
import { registerDevice } from './register.js';

const STATE_TTL_MS = 5 * 60_000;

// What the appliance shows: one text for a bad password, another for a bad passcode, and the
// generic one when the back end fails. The precise reason goes to the lab log only.
const MESSAGES: Record<Exclude<LogonOutcome, { ok: true }>['kind'], string> = {
  credentials: 'Incorrect user name or password.',
  passcode: 'Incorrect passcode.',
  unavailable: 'Cannot complete your request.',
};
// The NSC_VPNERR code a localised theme names instead of the text (the theme's message keys).
const CODES: Record<Exclude<LogonOutcome, { ok: true }>['kind'], string> = { credentials: '4001', passcode: '4001', unavailable: '4017' };

const LOGON_POINT = '/logon/LogonPoint/tmindex.html';
const NF_ENDPOINTS = ['getAuthenticationRequirements.do', 'doAuthentication.do'] as const;

interface PendingLogon {
  created: number;
  /** The prefix the exchange runs under: its PostBack stays there. */
  prefix: string;
  /** Set between the password round and the passcode round of a two-factor policy. */
  passed?: { login: string; dn: string };
  /** A round that is not a credential form: the EPA scan, the push wait, or the client choice. */
  stage?: 'epa-before' | 'epa-after' | 'push' | 'setclient';
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

function newContext(state: GatewayState, prefix: string, extra: Omit<PendingLogon, 'created' | 'prefix'> = {}): string {
  const now = Date.now();
  for (const [k, p] of state.contexts) if (now - p.created > STATE_TTL_MS) state.contexts.delete(k);
  const ctx = token(16);
  state.contexts.set(ctx, { created: now, prefix, ...extra });
  return ctx;
}

/** The browser's own origin for this request: what a 13.1-63+ classic logon insists on. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  return typeof origin === 'string' && origin === `${isTls(req) ? 'https' : 'http'}://${req.headers.host ?? ''}`;
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

// The RfWebUI page is a script shell; the form is built from the nFactor exchange.
const LOGON_POINT_PAGE = `<!DOCTYPE html>
<html><head><title>NetScaler Gateway</title><script src="/logon/LogonPoint/init.js"></script></head>
<body><div id="authentication"></div></body></html>
`;

export function createGatewayHandler(node: SimNode, dir: SimDirectoryConfig | undefined) {
  const state: GatewayState = { contexts: new Map(), sessions: new Set() };
  const opts = () => node.gateway;

  async function logon(flow: 'nfactor' | 'classic', form: Record<string, string>): Promise<LogonOutcome> {
    const user = form.login ?? '';
    const outcome = await checkLogon(node, dir, user, form.passwd ?? '', form.passwd1 ?? '');
    node.logGateway({ user, flow, ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) });
    return outcome;
  }

  /** Only field names: the lab log never holds a credential. */
  function notePost(path: string, form: Record<string, string>): void {
    const fields = Object.keys(form).filter((k) => k !== 'StateContext' && form[k] !== '' && /passwd|pass|otp|code/i.test(k));
    if (fields.length > 0) node.gatewayPosts.push({ path, fields });
    if (node.gatewayPosts.length > 500) node.gatewayPosts.shift();
  }

  function secondFactorSeparate(): boolean {
    return node.otpFactor === 'separate' || opts().pushOnly === true;
  }

  function firstFields(): LoginField[] {
    return secondFactorSeparate() ? ['login', 'passwd'] : ['login', 'passwd', 'passwd1'];
  }

  function failure(kind: Exclude<LogonOutcome, { ok: true }>['kind'] | 'expired'): Failure {
    const style = opts().errorStyle ?? 'error';
    if (kind === 'expired') return { text: 'Your session has expired. Please log on again.', code: '4017', style };
    return { text: MESSAGES[kind], code: CODES[kind], style };
  }

  function firstForm(ctxPrefix: string): string {
    const o = opts();
    return loginRequirements(newContext(state, ctxPrefix), undefined, firstFields(), `${ctxPrefix}doAuthentication.do`, {
      ...(o.extraRequirementType ? { requirementType: o.extraRequirementType } : {}),
      ...(o.extraLabelType ? { labelType: o.extraLabelType } : {}),
    });
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
    if (!secondFactorSeparate()) return logon('nfactor', form);
    const auth = await authenticateUser(dir, form.login ?? '', form.passwd ?? '');
    if ('ok' in auth) {
      node.logGateway({ user: form.login ?? '', flow: 'nfactor', ok: false, reason: auth.reason });
      return auth;
    }
    return { next: { login: form.login ?? '', dn: auth.dn } };
  }

  /** `/nf/auth/` or `/p/u/` when the path is an nFactor endpoint this gateway serves. */
  function nfactorPrefix(path: string): { prefix: string; endpoint: (typeof NF_ENDPOINTS)[number] } | undefined {
    if (opts().theme === 'classic') return undefined;
    for (const prefix of opts().nfactorPaths ?? [NF_PREFIX, '/p/u/']) {
      for (const endpoint of NF_ENDPOINTS) if (path === `${prefix}${endpoint}`) return { prefix, endpoint };
    }
    return undefined;
  }

  async function doAuthentication(req: IncomingMessage, res: ServerResponse, prefix: string): Promise<void> {
    const postBack = `${prefix}doAuthentication.do`;
    const xml = (body: string, cookie?: string) => sendText(res, 200, body, AUTH_RESPONSE_TYPE, cookie ? { 'Set-Cookie': cookie } : {});
    const form = await formOrJson(req);
    notePost(postBack, form);
    const ctx = form.StateContext;
    const pending = ctx ? state.contexts.get(ctx) : undefined;
    if (ctx && !pending) {
      xml(loginRequirements(newContext(state, prefix), failure('expired'), firstFields(), postBack));
      return;
    }
    if (ctx) state.contexts.delete(ctx);
    // A scan the client never ran fails; a push not yet approved keeps the client waiting.
    if (pending?.stage === 'epa-before' || pending?.stage === 'epa-after') {
      xml(epaFailed(newContext(state, prefix), postBack));
      return;
    }
    if (pending?.stage === 'push') {
      xml(pushRequirements(newContext(state, prefix, { stage: 'push' }), postBack));
      return;
    }
    const outcome = await nfactorRound(form, pending);
    if ('next' in outcome) {
      if (opts().pushOnly) {
        node.logGateway({ user: outcome.next?.login ?? '', flow: 'nfactor', ok: false, reason: 'waiting for a push approval' });
        xml(pushRequirements(newContext(state, prefix, { stage: 'push', ...(outcome.next ? { passed: outcome.next } : {}) }), postBack));
      } else {
        xml(loginRequirements(newContext(state, prefix, outcome.next ? { passed: outcome.next } : {}), undefined, ['passwd1'], postBack));
      }
      return;
    }
    if (!outcome.ok) {
      const retry = pending?.passed && outcome.kind === 'passcode' ? (['passwd1'] as LoginField[]) : firstFields();
      const carry = retry.includes('login') ? undefined : pending?.passed;
      xml(loginRequirements(newContext(state, prefix, carry ? { passed: carry } : {}), failure(outcome.kind), retry, postBack));
      return;
    }
    const session = token();
    state.sessions.add(session);
    if (opts().epa === 'after') {
      xml(epaRequirements(newContext(state, prefix, { stage: 'epa-after' }), postBack), sessionCookie(req, session));
    } else if (opts().setClientStep) {
      xml(setClientRequirements(newContext(state, prefix, { stage: 'setclient' })), sessionCookie(req, session));
    } else {
      xml(successResponse(), sessionCookie(req, session));
    }
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { path } = splitUrl(req.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const route = `${method} ${path}`;
    const nf = method === 'POST' ? nfactorPrefix(path) : undefined;
    if (nf?.endpoint === 'getAuthenticationRequirements.do') {
      await readBody(req, 64 * 1024);
      const body = opts().epa === 'before' ? epaRequirements(newContext(state, nf.prefix, { stage: 'epa-before' }), `${nf.prefix}doAuthentication.do`) : firstForm(nf.prefix);
      sendText(res, 200, body, AUTH_RESPONSE_TYPE, { 'Set-Cookie': `NSC_TASS=${token(8)}; Path=/; HttpOnly` });
      return;
    }
    if (nf?.endpoint === 'doAuthentication.do') {
      await doAuthentication(req, res, nf.prefix);
      return;
    }
    switch (route) {
      case `POST ${SETCLIENT_POSTBACK}`: {
        const form = await formOrJson(req);
        const pending = form.StateContext ? state.contexts.get(form.StateContext) : undefined;
        if (pending?.stage !== 'setclient' || !form['nsg-setclient']) {
          sendText(res, 200, loginRequirements(newContext(state, pending?.prefix ?? NF_PREFIX), failure('expired'), firstFields()), AUTH_RESPONSE_TYPE);
          return;
        }
        state.contexts.delete(form.StateContext);
        sendText(res, 200, successResponse(), AUTH_RESPONSE_TYPE);
        return;
      }
      case 'GET /':
        res.writeHead(302, { Location: '/vpn/index.html' });
        res.end();
        return;
      case 'GET /vpn/index.html':
        if (opts().theme === 'nfactor') {
          res.writeHead(302, { Location: LOGON_POINT });
          res.end();
          return;
        }
        sendText(res, 200, CLASSIC_PAGE, 'text/html; charset=utf-8', { 'Set-Cookie': [`NSC_TEMP=xyz; Path=/`, `pwcount=0; Path=/`] });
        return;
      case 'GET /logon/LogonPoint/index.html':
      case `GET ${LOGON_POINT}`:
        sendText(res, 200, LOGON_POINT_PAGE, 'text/html; charset=utf-8', { 'Set-Cookie': `NSC_TEMP=xyz; Path=/` });
        return;
      case 'POST /cgi/login': {
        const form = await formOrJson(req);
        notePost('/cgi/login', form);
        if (opts().theme === 'nfactor') {
          res.writeHead(302, { Location: LOGON_POINT });
          res.end();
          return;
        }
        if (opts().classicRequiresOrigin && (!sameOrigin(req) || !cookies(req).has('NSC_TEMP'))) {
          node.logGateway({ user: form.login ?? '', flow: 'classic', ok: false, reason: 'logon POST without the Origin of the gateway or the logon page cookies' });
          res.writeHead(302, { Location: '/vpn/index.html', 'Set-Cookie': 'NSC_VPNERR=4001; Path=/' });
          res.end();
          return;
        }
        const outcome = await logon('classic', form);
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
      case 'GET /cgi/setclient':
      case 'POST /cgi/setclient': {
        if (method === 'POST') await readBody(req, 64 * 1024);
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
