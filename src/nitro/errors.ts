// Typed NITRO failures. Callers branch on `errorcode` (the appliance's own code), never on
// message text, and every error names the appliance and the call so an operator can act.
import { AdcError, EXIT } from '../errors.js';

/** Error codes the client or the operations act on (docs/fidelity.md, "Error codes"). */
export const NITRO_CODE = {
  noSuchResource: 258,
  alreadyExists: 273,
  invalidArgument: 278,
  operationInProgress: 293,
  haPropagationFailed: 349,
  haPropagationTimedOut: 347,
  haPropagation457: 457,
  haPropagation458: 458,
  loginRequired: 352,
  invalidUser: 354,
  invalidCredentials: 355,
  notPrimary: 368,
  haSyncInProgress: 412,
  sessionExpired: 444,
  sessionExpired1027: 1027,
  connectedToSecondary: 1028,
  clusterNodeNsip: 1044,
  readOnlySession: 1203,
  basicAuthDisabled: 1244,
  bulkPartialFailure: 1243,
  tooManySaves: 1461,
  invalidCertificate: 1536,
  invalidKeyOrPassphrase: 1537,
  certKeyMismatch: 1538,
  certificateAbsent: 1540,
  certificateReferenced: 1541,
  certBindingAbsent: 1542,
  certNotYetValid: 1588,
  certExpired: 1589,
  wrongPassphrase: 1614,
  fileExists: 1642,
  inputFileAbsent: 1647,
} as const;

/** Codes that mean "the session is gone": log in again once and repeat. */
export const SESSION_CODES: ReadonlySet<number> = new Set([352, 444, 1027]);
/** Codes that mean "busy": wait and retry, even for a write (nothing happened). */
export const BUSY_CODES: ReadonlySet<number> = new Set([293, 412, 1461]);
/** Codes that mean "you are talking to the secondary". */
export const NOT_PRIMARY_CODES: ReadonlySet<number> = new Set([368, 1028]);
/** Codes that mean "this is a cluster node's NSIP, not the cluster IP". */
export const CLUSTER_NSIP_CODES: ReadonlySet<number> = new Set([1044, 1203]);
/** HA propagation failures: the primary changed, the secondary may not have. */
export const HA_PROPAGATION_CODES: ReadonlySet<number> = new Set([347, 349, 457, 458]);
/** Codes that mean "absent" on a read or on a delete of something already gone. */
export const ABSENT_CODES: ReadonlySet<number> = new Set([258, 1540, 1542]);

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

export function isNitroCode(err: unknown, ...codes: number[]): err is NitroError {
  return err instanceof NitroError && err.hasCode(...codes);
}

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
