// The HTTP client's promises to its callers (the NITRO client and the logon check), each against
// a real server on 127.0.0.1: what comes back as a reply, and which code a failure carries, since
// the callers decide "nothing was sent" against "outcome unknown" from that code alone.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_TIMEOUT_CODE } from '../../src/errors.js';
import { HttpTimeoutError, request } from '../../src/http/request.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const sockets = new Set<Socket>();
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => (routes.get(req.url ?? '') ?? ((_q, _b, r) => r.writeHead(404).end()))(req, body, res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const failure = (p: Promise<unknown>): Promise<Error & { code?: string }> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error & { code?: string },
  );

describe('replies', () => {
  it('sends method, headers and body, and gives back status, headers and text', async () => {
    routes.set('/echo', (req, body, res) => {
      res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2']);
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-NITRO-WARNING': 'careful' });
      res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'], length: req.headers['content-length'], agent: req.headers['user-agent'] }));
    });
    const res = await request({ method: 'POST', url: `${base}/echo`, headers: { 'Content-Type': 'application/json' }, body: '{"é":1}' });
    expect(res.status).toBe(201);
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect(res.headers['x-nitro-warning']).toBe('careful');
    expect(JSON.parse(res.body)).toEqual({ method: 'POST', body: '{"é":1}', type: 'application/json', length: '8', agent: 'adc-cutover' });
  });

  it('returns an error status as a reply, body and all', async () => {
    routes.set('/refused', (_q, _b, res) => res.writeHead(599, { 'Content-Type': 'application/json' }).end('{"errorcode":9999}'));
    expect(await request({ method: 'GET', url: `${base}/refused` })).toMatchObject({ status: 599, body: '{"errorcode":9999}' });
  });

  it('does not follow a redirect: the 302 and its Location are the answer', async () => {
    let followed = false;
    routes.set('/moved', (_q, _b, res) => res.writeHead(302, { Location: '/elsewhere' }).end());
    routes.set('/elsewhere', (_q, _b, res) => {
      followed = true;
      res.end('here');
    });
    const res = await request({ method: 'POST', url: `${base}/moved`, body: 'secret=1' });
    expect([res.status, res.headers.location, followed]).toEqual([302, '/elsewhere', false]);
  });

  it('reads a body without its byte-order mark, and a compressed one it did not ask for', async () => {
    routes.set('/bom', (_q, _b, res) => res.end('\ufeff{"a":1}'));
    routes.set('/gzip', (req, _b, res) => res.writeHead(200, { 'Content-Encoding': 'gzip', 'X-Asked': String(req.headers['accept-encoding']) }).end(gzipSync('<html>page</html>')));
    expect((await request({ method: 'GET', url: `${base}/bom` })).body).toBe('{"a":1}');
    const gz = await request({ method: 'GET', url: `${base}/gzip` });
    expect([gz.body, gz.headers['content-encoding'], gz.headers['x-asked']]).toEqual(['<html>page</html>', undefined, 'undefined']);
  });
});

describe('failures keep the code the caller decides on', () => {
  it('a refused connection is ECONNREFUSED', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await failure(request({ method: 'GET', url: `http://127.0.0.1:${port}/` }))).code).toBe('ECONNREFUSED');
  });

  it('a connection dropped before the reply is ECONNRESET', async () => {
    routes.set('/drop', (req) => req.socket.destroy());
    expect((await failure(request({ method: 'POST', url: `${base}/drop`, body: '{}' }))).code).toBe('ECONNRESET');
  });

  it('a connection dropped in the middle of the body is ECONNRESET, not a short reply', async () => {
    routes.set('/half', (req, _b, res) => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('{"partial":');
      setTimeout(() => req.socket.destroy(), 50);
    });
    expect((await failure(request({ method: 'GET', url: `${base}/half` }))).code).toBe('ECONNRESET');
  });

  it('no complete reply within the timeout is our own code, however far the reply got', async () => {
    routes.set('/silent', () => undefined);
    routes.set('/trickle', (_q, _b, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), 40);
    });
    for (const path of ['/silent', '/trickle']) {
      const started = Date.now();
      const err = await failure(request({ method: 'GET', url: `${base}${path}`, timeoutMs: 300 }));
      expect(err).toBeInstanceOf(HttpTimeoutError);
      expect(err.code).toBe(HTTP_TIMEOUT_CODE);
      expect(err.message).toMatch(/300 ms timeout/);
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it('an abort rejects with an AbortError that carries the reason', async () => {
    routes.set('/slow', () => undefined);
    const stop = new AbortController();
    const pending = failure(request({ method: 'GET', url: `${base}/slow`, signal: stop.signal }));
    setTimeout(() => stop.abort(new Error('operator')), 50);
    const err = await pending;
    expect([err.name, err.code, (err.cause as Error).message]).toEqual(['AbortError', 'ABORT_ERR', 'operator']);
    expect((await failure(request({ method: 'GET', url: `${base}/slow`, signal: AbortSignal.abort() }))).name).toBe('AbortError');
  });

  it('refuses a URL that is not HTTP', async () => {
    expect((await failure(request({ method: 'GET', url: 'ftp://127.0.0.1/' }))).message).toMatch(/ftp: is not HTTP/);
  });
});
