// Plain words for the codes a failure carries (its NITRO errorcodes and LDAP results, journaled
// as fields beside the message): a change board reading the record should not have to look them
// up. NITRO wording comes from the one table of codes (src/nitro/codes.ts), LDAP
// wording follows RFC 4511; unknown codes get no gloss.
import type { ErrorCodes } from '../../errors.js';
import { nitroCodeWords } from '../../nitro/codes.js';

const LDAP: Record<string, string> = {
  noSuchObject: 'the entry does not exist (moved or deleted during the run?)',
  invalidCredentials: 'the directory rejected the bind DN or password',
  insufficientAccessRights: 'the bind account may not read or write this attribute',
  constraintViolation: 'the directory refused the value',
  noSuchAttribute: 'the value changed since it was read (someone else wrote it)',
  attributeOrValueExists: 'the value already exists',
  busy: 'the directory server was busy',
  unavailable: 'the directory server was unavailable',
  unwillingToPerform: 'the directory server refused the operation',
  objectClassViolation: 'the entry’s object class does not allow the change',
  sizeLimitExceeded: 'the search returned more entries than the server allows',
  timeLimitExceeded: 'the search ran longer than the server allows',
};

/** One sentence per code the failure carries, e.g. "NITRO errorcode 278: the appliance refused…". */
export function explain(codes: ErrorCodes | undefined): string[] {
  if (!codes) return [];
  const out: string[] = [];
  for (const code of codes.nitro ?? []) {
    const text = nitroCodeWords(code);
    if (text) out.push(`NITRO errorcode ${code}: ${text}.`);
  }
  for (const l of codes.ldap ?? []) {
    const text = LDAP[l.name];
    if (text) out.push(`LDAP result ${l.code} (${l.name}): ${text}.`);
  }
  if (codes.directoryUnavailable) out.push('The directory could not be reached: the connection failed or was lost.');
  if (codes.network?.length) out.push('The network connection failed: the outcome of the last write is unknown until state is read again.');
  return [...new Set(out)];
}
