// The NITRO errorcodes this tool acts on or explains, by name: the one table. Call sites name a
// code (NITRO_CODE.alreadyExists), never a bare number; the classes below group the codes the
// client treats alike; and the report explains a code in plain words from the same table.
// Codes and wording follow the error-code table of docs/fidelity.md. No imports: every layer
// may read it.

export const NITRO_CODE = {
  noSuchResource: 258,
  alreadyExists: 273,
  invalidArgument: 278,
  operationInProgress: 293,
  haPropagationTimedOut: 347,
  haPropagationFailed: 349,
  loginRequired: 352,
  invalidUser: 354,
  invalidCredentials: 355,
  notPrimary: 368,
  haSyncInProgress: 412,
  sessionExpired: 444,
  haPropagation457: 457,
  haPropagation458: 458,
  sessionExpired1027: 1027,
  connectedToSecondary: 1028,
  clusterNodeNsip: 1044,
  readOnlySession: 1203,
  bulkPartialFailure: 1243,
  basicAuthDisabled: 1244,
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

export type NitroCode = (typeof NITRO_CODE)[keyof typeof NITRO_CODE];

const C = NITRO_CODE;

/** Codes that mean "the session is gone": log in again once and repeat. */
export const SESSION_CODES: ReadonlySet<number> = new Set([C.loginRequired, C.sessionExpired, C.sessionExpired1027]);
/** Codes that mean "busy": wait and retry, even for a write (nothing happened). */
export const BUSY_CODES: ReadonlySet<number> = new Set([C.operationInProgress, C.haSyncInProgress, C.tooManySaves]);
/** Codes that mean "you are talking to the secondary". */
export const NOT_PRIMARY_CODES: ReadonlySet<number> = new Set([C.notPrimary, C.connectedToSecondary]);
/** Codes that mean "this is a cluster node's NSIP, not the cluster IP". */
export const CLUSTER_NSIP_CODES: ReadonlySet<number> = new Set([C.clusterNodeNsip, C.readOnlySession]);
/** HA propagation failures: the primary changed, the secondary may not have. */
export const HA_PROPAGATION_CODES: ReadonlySet<number> = new Set([C.haPropagationTimedOut, C.haPropagationFailed, C.haPropagation457, C.haPropagation458]);
/** Codes that mean "absent" on a read or on a delete of something already gone. */
export const ABSENT_CODES: ReadonlySet<number> = new Set([C.noSuchResource, C.certificateAbsent, C.certBindingAbsent]);
/** The appliance refused the user name or password of the login. */
export const BAD_LOGIN_CODES: ReadonlySet<number> = new Set([C.invalidUser, C.invalidCredentials]);
/** Answers about a certificate or key (or the files they load from), never about the appliance's state. */
export const CERTIFICATE_CODES: ReadonlySet<number> = new Set([
  C.invalidCertificate,
  C.invalidKeyOrPassphrase,
  C.certKeyMismatch,
  C.certNotYetValid,
  C.certExpired,
  C.wrongPassphrase,
  C.inputFileAbsent,
]);

/** Each code in plain words, for a change board reading the record (every code above has them). */
const WORDS: Record<NitroCode, string> = {
  [C.noSuchResource]: 'the resource does not exist on the appliance',
  [C.alreadyExists]: 'the resource already exists (or the same certificate is already loaded under another name)',
  [C.invalidArgument]: 'the appliance refused an argument of the call as invalid',
  [C.operationInProgress]: 'another operation of the same kind was already in progress',
  [C.haPropagationTimedOut]: 'the change did not reach the HA secondary in time',
  [C.haPropagationFailed]: 'the change could not be propagated to the HA secondary',
  [C.loginRequired]: 'the NITRO session had to log in again',
  [C.invalidUser]: 'the appliance rejected the user name or password',
  [C.invalidCredentials]: 'the appliance rejected the user name or password',
  [C.notPrimary]: 'the call reached the HA secondary, not the primary',
  [C.haSyncInProgress]: 'HA synchronisation was in progress',
  [C.sessionExpired]: 'the NITRO session had expired',
  [C.haPropagation457]: 'HA propagation failed',
  [C.haPropagation458]: 'HA propagation failed',
  [C.sessionExpired1027]: 'the NITRO session had expired',
  [C.connectedToSecondary]: 'the call reached the HA secondary, not the primary',
  [C.clusterNodeNsip]: 'this is a cluster node address: use the cluster IP',
  [C.readOnlySession]: 'read-only session on a cluster node: use the cluster IP',
  [C.bulkPartialFailure]: 'a bulk operation partly failed',
  [C.basicAuthDisabled]: 'basic authentication is disabled on the appliance',
  [C.tooManySaves]: 'too many configuration saves at once',
  [C.invalidCertificate]: 'the certificate is not valid',
  [C.invalidKeyOrPassphrase]: 'the key is invalid or needs a passphrase',
  [C.certKeyMismatch]: 'the certificate and the key do not match',
  [C.certificateAbsent]: 'the certificate does not exist on the appliance',
  [C.certificateReferenced]: 'the certificate is still bound somewhere and cannot be changed or removed',
  [C.certBindingAbsent]: 'the certificate binding does not exist',
  [C.certNotYetValid]: 'the certificate is not valid yet',
  [C.certExpired]: 'the certificate has expired',
  [C.wrongPassphrase]: 'the passphrase does not open the key',
  [C.fileExists]: 'a file with that name already exists on the appliance',
  [C.inputFileAbsent]: 'a certificate or key file named is not on the appliance',
};

function isKnown(code: number): code is NitroCode {
  return Object.hasOwn(WORDS, code);
}

/** What `code` means in plain words; undefined for a code this table does not name. */
export function nitroCodeWords(code: number): string | undefined {
  return isKnown(code) ? WORDS[code] : undefined;
}
