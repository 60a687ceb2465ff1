// The NITRO endpoint of one node: /nitro/v1/config/<resource>[/<name>], sessions, faults, the
// HA write rule, and dispatch to one handler per resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimNode } from './appliance-state.js';
import { handleControl, type SimWorld } from './control.js';
import { BodyTooLarge, cookies, readBody, sendJson, sendText, sleep, splitUrl } from './http-util.js';
import { NitroFault, done, faultReply, type NitroReply } from './nitro-errors.js';
import type { NitroRequest } from './nitro-request.js';
import { parseQuery } from './query.js';
import { handleAuthenticationldapaction } from './res-authenticationldapaction.js';
import { handleSslcertkey } from './res-sslcertkey.js';
import { handleAaaotpparameter, handleClusterfiles, handleHafiles, handleHanode, handleNsconfig, handleNsrunningconfig, handleNsversion, handleStat } from './res-system.js';
import { handleSystemfile } from './res-systemfile.js';
import { handleVpnglobalBinding } from './res-vpnglobal-binding.js';

const PREFIX = '/nitro/v1/config/';
const STAT_PREFIX = '/nitro/v1/stat/';
// 2 MB of file content is about 2.7 MB of base64; leave room for the JSON around it.
const BODY_LIMIT = 4 * 1024 * 1024;

type Handler = (req: NitroRequest) => NitroReply;

const HANDLERS: Record<string, Handler> = {
  systemfile: handleSystemfile,
  sslcertkey: handleSslcertkey,
  vpnglobal_sslcertkey_binding: handleVpnglobalBinding,
  aaaotpparameter: handleAaaotpparameter,
  nsconfig: handleNsconfig,
  hanode: handleHanode,
  hafiles: handleHafiles,
  clusterfiles: handleClusterfiles,
  nsversion: handleNsversion,
  nsrunningconfig: handleNsrunningconfig,
  authenticationldapaction: handleAuthenticationldapaction,
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'DELETE']);

function parseBody(raw: Buffer, contentType: string | undefined): Record<string, unknown> | undefined {
  if (raw.length === 0) return undefined;
  let text = raw.toString('utf8');
  // NITRO also accepts form posts of the shape object=<json>.
  if ((contentType ?? '').includes('application/x-www-form-urlencoded')) {
    const obj = new URLSearchParams(text).get('object');
    if (obj === null) throw new NitroFault(278, 'form body must carry object=<json>');
    text = obj;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new NitroFault(278, 'malformed JSON body');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new NitroFault(278, 'body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The session token: in a Cookie header as the reference shows, or in a request header named
 * Set-Cookie, which is how the vendor's Go SDK sends it (and real appliances accept it).
 */
function sessionToken(req: IncomingMessage): string | undefined {
  const fromCookie = cookies(req).get('NITRO_AUTH_TOKEN');
  if (fromCookie) return fromCookie;
  const raw = req.headers['set-cookie'];
  for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const m = /(?:^|;\s*)NITRO_AUTH_TOKEN=([^;]+)/.exec(line);
    if (m?.[1]) return m[1].trim();
  }
  return undefined;
}

/**
 * A resource name from the URL path, decoded as the appliance does: twice, because the vendor's
 * clients encode it twice (the Ansible collection with quote(), the Go SDK with QueryEscape, whose
 * "+" for a space the second, query-style decode turns back into a space). A name sent encoded
 * only once still decodes to itself unless it holds "%" or "+" (lab guess: a second decode that
 * fails keeps the once-decoded text).
 */
export function decodeResourceName(raw: string): string {
  const once = decodeURIComponent(raw);
  try {
    return decodeURIComponent(once.replace(/\+/g, ' '));
  } catch {
    return once;
  }
}

/** Who is calling: a live session cookie or the per-request headers, never both. */
function authenticate(node: SimNode, req: IncomingMessage): { token?: string } {
  const token = sessionToken(req);
  const user = header(req, 'x-nitro-user');
  const pass = header(req, 'x-nitro-pass');
  if (token && (user !== undefined || pass !== undefined)) {
    throw new NitroFault(278, 'send either the NITRO_AUTH_TOKEN cookie or X-NITRO-USER/X-NITRO-PASS, not both');
  }
  if (token) {
    node.sessions.use(token);
    return { token };
  }
  if (user !== undefined || pass !== undefined) {
    if (user !== node.username || pass !== node.password) throw new NitroFault(354);
    return {};
  }
  throw new NitroFault(352);
}

function login(node: SimNode, body: Record<string, unknown> | undefined): NitroReply {
  const p = body?.login;
  if (!p || typeof p !== 'object') throw new NitroFault(278, 'body must be {"login":{"username":…,"password":…}}');
  const { username, password, timeout } = p as Record<string, unknown>;
  if (typeof username !== 'string' || typeof password !== 'string') throw new NitroFault(278, 'username and password are required');
  if (username !== node.username || password !== node.password) throw new NitroFault(354);
  const token = node.sessions.open(username, typeof timeout === 'number' ? timeout : Number(timeout) || undefined);
  return {
    ...done(201, { sessionid: token }),
    headers: { 'Set-Cookie': `NITRO_AUTH_TOKEN=${token}; path=/nitro/v1; HttpOnly` },
  };
}

export function createNitroHandler(node: SimNode, world: SimWorld) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { path, query } = splitUrl(req.url);
    if (path.startsWith('/__lab')) {
      await handleControl(node, world, req, res, path);
      return;
    }
    const stat = path.startsWith(STAT_PREFIX);
    if (!path.startsWith(PREFIX) && !stat) {
      sendText(res, 404, 'Not Found\n', 'text/plain');
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const [resourceRaw, ...nameParts] = path.slice(stat ? STAT_PREFIX.length : PREFIX.length).split('/');
    let resource: string;
    let name: string | undefined;
    try {
      resource = decodeURIComponent(resourceRaw ?? '').toLowerCase();
      name = nameParts.length > 0 && nameParts.join('/') !== '' ? decodeResourceName(nameParts.join('/')) : undefined;
    } catch {
      sendJson(res, 400, faultReply(new NitroFault(278, 'malformed percent-encoding in the URL')).body ?? {});
      return;
    }
    const q = parseQuery(query);

    let reply: NitroReply;
    let drop = false;
    let served = false;
    try {
      let raw: Buffer;
      try {
        raw = await readBody(req, BODY_LIMIT);
      } catch (err) {
        if (err instanceof BodyTooLarge) throw new NitroFault(278, err.message);
        throw err;
      }
      const body = parseBody(raw, header(req, 'content-type'));
      let session: { token?: string } = {};
      if (resource !== 'login') session = authenticate(node, req);
      const fault = node.faults.take(method, resource, name, q.action);
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.errorcode !== undefined) throw new NitroFault(fault.errorcode, `injected fault: ${fault.on}`);
      if (fault?.reply !== undefined) {
        sendJson(res, 200, { errorcode: 0, message: 'Done', severity: 'NONE', ...fault.reply });
        return;
      }
      drop = fault?.drop === true;
      // A dropped read never ran; a dropped write ran and only its reply is lost ("outcome unknown").
      if (drop && !WRITE_METHODS.has(method)) {
        res.socket?.destroy();
        return;
      }
      const request: NitroRequest = { method, resource, ...(name !== undefined ? { name } : {}), query: q, ...(body ? { body } : {}), node, ...(stat ? { stat } : {}) };
      if (fault?.holdUntil && WRITE_METHODS.has(method)) {
        // No reply ever: the client gives up. The write lands after the trigger request.
        node.faults.hold(fault.holdUntil, () => {
          try {
            dispatch(node, request, session);
          } catch {
            /* as a late write that failed */
          }
        });
        return;
      }
      served = true;
      reply = dispatch(node, request, session);
    } catch (err) {
      if (err instanceof NitroFault) reply = faultReply(err);
      else reply = faultReply(new NitroFault(278, err instanceof Error ? err.message : String(err)));
    }
    if (served) node.faults.release(method, resource, name, q.action);
    if (drop) {
      res.socket?.destroy();
      return;
    }
    if (typeof reply.body === 'string') sendText(res, reply.status, reply.body, 'text/plain', reply.headers);
    else sendJson(res, reply.status, reply.body ?? {}, reply.headers);
  };
}

function dispatch(node: SimNode, req: NitroRequest, session: { token?: string }): NitroReply {
  if (req.resource === 'login') {
    if (req.method !== 'POST') throw new NitroFault(278, 'login takes POST');
    return login(node, req.body);
  }
  if (req.resource === 'logout') {
    if (req.method !== 'POST') throw new NitroFault(278, 'logout takes POST');
    if (session.token) node.sessions.close(session.token);
    return { ...done(201), headers: { 'Set-Cookie': 'NITRO_AUTH_TOKEN=; path=/nitro/v1; Max-Age=0' } };
  }
  if (req.stat) return handleStat(req);
  const handler = HANDLERS[req.resource];
  if (!handler) throw new NitroFault(258, `resource type, ${req.resource}`);
  // `set ha node` is per node (hasync must be set on the secondary itself): not refused there.
  if (WRITE_METHODS.has(req.method) && node.role === 'secondary' && req.resource !== 'hanode') throw new NitroFault(node.profile.secondaryWriteCode);
  return handler(req);
}
