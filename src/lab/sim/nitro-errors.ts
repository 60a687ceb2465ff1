// NITRO error replies as docs/fidelity.md lists them: the errorcode, its usual message, and the
// HTTP status (4xx for general errors, 599 for appliance-specific ones).

interface CodeInfo {
  http: number;
  message: string;
}

export const NITRO_CODES: Readonly<Record<number, CodeInfo>> = {
  258: { http: 404, message: 'No such resource' },
  273: { http: 409, message: 'Resource already exists' },
  278: { http: 400, message: 'Invalid argument value' },
  293: { http: 599, message: 'Operation already in progress' },
  352: { http: 401, message: 'Not logged in' },
  354: { http: 401, message: 'Invalid username or password' },
  355: { http: 401, message: 'Invalid username or password' },
  368: { http: 599, message: 'Not a primary node' },
  412: { http: 599, message: 'HA synchronization in progress' },
  444: { http: 401, message: 'Session expired or killed. Please login again' },
  1027: { http: 401, message: 'Not logged in or connection timed out' },
  1028: { http: 599, message: 'Connected to a secondary node: configuration changes are allowed only on the primary' },
  1244: { http: 401, message: 'Basic authentication is disabled' },
  1461: { http: 599, message: 'Too many concurrent save requests' },
  1536: { http: 599, message: 'Invalid certificate' },
  1537: { http: 599, message: 'Invalid private key, or PEM pass phrase required' },
  1538: { http: 599, message: 'Certificate and private key do not match' },
  1540: { http: 599, message: 'Certificate does not exist' },
  1541: { http: 599, message: 'Certificate is referenced, cannot delete or update' },
  1542: { http: 599, message: 'Certificate binding does not exist' },
  1588: { http: 599, message: 'Certificate is not yet valid' },
  1589: { http: 599, message: 'Certificate has expired' },
  1614: { http: 599, message: 'Invalid password for the private key' },
  1642: { http: 409, message: 'File already exists' },
  1647: { http: 599, message: 'Input file(s) not present' },
};

export class NitroFault extends Error {
  readonly errorcode: number;
  readonly httpStatus: number;
  constructor(errorcode: number, detail?: string) {
    const info = NITRO_CODES[errorcode];
    super(info ? (detail ? `${info.message} [${detail}]` : info.message) : (detail ?? `Error ${errorcode}`));
    this.errorcode = errorcode;
    this.httpStatus = info?.http ?? 599;
  }
}

export interface NitroReply {
  status: number;
  headers?: Record<string, string | string[]>;
  /** JSON object (serialised) or raw text. */
  body?: object | string;
}

export function faultReply(err: NitroFault): NitroReply {
  return { status: err.httpStatus, body: { errorcode: err.errorcode, message: err.message, severity: 'ERROR' } };
}

export function done(status = 200, extra: Record<string, unknown> = {}): NitroReply {
  return { status, body: { errorcode: 0, message: 'Done', severity: 'NONE', ...extra } };
}
