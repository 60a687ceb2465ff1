// A tiny scripted HTTP server for gateway behaviours the lab simulator does not produce
// (bot protection, custom schemas, lock-out labels, a separate OTP factor). 127.0.0.1 only.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  path: string;
  form: Record<string, string>;
  cookie?: string;
  headers: IncomingMessage['headers'];
}

export type Route = (req: Seen, res: ServerResponse) => void;

export interface FakeGateway {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

export async function startFakeGateway(routes: Record<string, Route>): Promise<FakeGateway> {
  const seen: Seen[] = [];
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const entry: Seen = {
        method: req.method ?? 'GET',
        path,
        form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
        ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}),
        headers: req.headers,
      };
      seen.push(entry);
      const route = routes[`${entry.method} ${path}`] ?? routes[path];
      if (!route) {
        res.writeHead(404, { 'Content-Type': 'text/html' });
        res.end('<html><body>Not found</body></html>');
        return;
      }
      route(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const XML = 'application/vnd.citrix.authenticateresponse-1+xml';

export function sendXml(res: ServerResponse, body: string, cookies: string[] = []): void {
  res.writeHead(200, { 'Content-Type': XML, ...(cookies.length ? { 'Set-Cookie': cookies } : {}) });
  res.end(body);
}

export interface Field {
  id: string;
  type: string;
  label?: string;
}

/** An AuthenticateResponse document as an ADC writes it. */
export function authResponse(opts: { result: string; state?: string; fields?: Field[]; error?: string; errorType?: string }): string {
  const reqs = (opts.fields ?? []).map(
    (f) =>
      `<Requirement><Credential><ID>${f.id}</ID><Type>${f.type}</Type></Credential>` +
      `<Label><Text>${f.label ?? f.id}</Text><Type>plain</Type></Label>` +
      `<Input><Text><Secret>${f.type === 'password'}</Secret><ReadOnly>false</ReadOnly></Text></Input></Requirement>`,
  );
  // An empty error text is sent as an empty element: some gateways show the failure by the label type alone.
  if (opts.error !== undefined) {
    reqs.push(`<Requirement><Credential><Type>none</Type></Credential><Label><Text>${opts.error}</Text><Type>${opts.errorType ?? 'error'}</Type></Label><Input/></Requirement>`);
  }
  reqs.push('<Requirement><Credential><ID>loginBtn</ID><Type>none</Type></Credential><Label><Type>none</Type></Label><Input><Button>Log On</Button></Input></Requirement>');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<AuthenticateResponse xmlns="http://citrix.com/authentication/response/1">` +
    `<Status>success</Status><Result>${opts.result}</Result><StateContext>${opts.state ?? ''}</StateContext>` +
    `<AuthenticationRequirements><PostBack>/nf/auth/doAuthentication.do</PostBack><CancelPostBack>/nf/auth/doLogoff.do</CancelPostBack>` +
    `<CancelButtonText>Cancel</CancelButtonText><Requirements>${reqs.join('')}</Requirements></AuthenticationRequirements>` +
    '</AuthenticateResponse>'
  );
}

export const LOGIN_FIELDS: Field[] = [
  { id: 'login', type: 'username', label: 'User name' },
  { id: 'passwd', type: 'password', label: 'Password:' },
  { id: 'passwd1', type: 'password', label: 'Passcode:' },
];
