// Typed NITRO failures. Callers branch on `errorcode` (the appliance's own code), never on
// message text, and every error names the appliance and the call so an operator can act.
import { AdcError, EXIT, type ErrorCodes } from '../errors.js';

export {
  ABSENT_CODES,
  BAD_LOGIN_CODES,
  BUSY_CODES,
  CERTIFICATE_CODES,
  CLUSTER_NSIP_CODES,
  HA_PROPAGATION_CODES,
  NITRO_CODE,
  NOT_PRIMARY_CODES,
  SESSION_CODES,
  nitroCodeWords,
  type NitroCode,
} from './codes.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface NitroErrorDetails {
  appliance: string;
  method: HttpMethod;
  resource: string;
  /** HTTP status of the reply; undefined when no reply arrived. */
  httpStatus: number | undefined;
  /** NITRO errorcode; undefined when the reply carried none (e.g. a proxy's HTML page). */
  errorcode: number | undefined;
  message: string;
}

export class NitroError extends AdcError {
  readonly appliance: string;
  readonly method: HttpMethod;
  readonly resource: string;
  readonly httpStatus: number | undefined;
  readonly errorcode: number | undefined;
  /** The appliance's own message, without our prefix. */
  readonly nitroMessage: string;

  constructor(d: NitroErrorDetails, options?: { cause?: unknown; exitCode?: (typeof EXIT)[keyof typeof EXIT] }) {
    const code = d.errorcode !== undefined ? ` errorcode ${d.errorcode}` : '';
    const http = d.httpStatus !== undefined ? ` (HTTP ${d.httpStatus})` : '';
    super(`${d.appliance}: ${d.method} ${d.resource} failed:${code}${http}: ${d.message}`, options?.exitCode, options);
    this.appliance = d.appliance;
    this.method = d.method;
    this.resource = d.resource;
    this.httpStatus = d.httpStatus;
    this.errorcode = d.errorcode;
    this.nitroMessage = d.message;
  }

  hasCode(...codes: number[]): boolean {
    return this.errorcode !== undefined && codes.includes(this.errorcode);
  }

  override ownCodes(): ErrorCodes {
    return this.errorcode !== undefined ? { nitro: [this.errorcode] } : {};
  }
}

/**
 * A write was sent but no reply came (timeout, reset). The change may or may not have been
 * made: the caller must re-read the state before deciding to repeat it — and not at once: a
 * request the client gave up on may still be running on the appliance and land later. `settleMs`
 * is how long the caller waits for it (see settle.ts) before reading "not there" as "not made".
 */
export class NitroOutcomeUnknownError extends NitroError {
  readonly settleMs: number;
  constructor(d: NitroErrorDetails, options: { cause?: unknown; settleMs: number }) {
    super(d, options);
    this.settleMs = options.settleMs;
  }
}

/** The connection could not be made or a read never got a reply after all retries. */
export class NitroUnreachableError extends NitroError {}

/** Dry run: the request was recorded in `wouldSend` and not sent. */
export class NitroDryRunError extends NitroError {}

/** TLS verification of the appliance failed (wrong CA, fingerprint mismatch). */
export class NitroTlsError extends NitroError {}

const SECRET_FIELDS = new Set(['password', 'passplain', 'filecontent', 'passphrase', 'privatekey', 'newpassword']);

/** Deep copy of a request body with every secret-bearing field replaced. */
export function redactBody(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactBody);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_FIELDS.has(k.toLowerCase()) ? '[REDACTED]' : redactBody(v);
    }
    return out;
  }
  return value;
}
