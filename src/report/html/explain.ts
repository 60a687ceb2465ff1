// Plain words for the codes an operator meets in a failed run's messages. The messages already
// carry the NITRO errorcode or the LDAP result; a change board reading the record should not have
// to look them up. Wording follows the error-code table of docs/fidelity.md and RFC 4511; unknown codes get no gloss.

const NITRO: Record<number, string> = {
  258: 'the resource does not exist on the appliance',
  273: 'the resource already exists (or the same certificate is already loaded under another name)',
  278: 'the appliance refused an argument of the call as invalid',
  293: 'another operation of the same kind was already in progress',
  347: 'the change did not reach the HA secondary in time',
  349: 'the change could not be propagated to the HA secondary',
  352: 'the NITRO session had to log in again',
  354: 'the appliance rejected the user name or password',
  355: 'the appliance rejected the user name or password',
  368: 'the call reached the HA secondary, not the primary',
  412: 'HA synchronisation was in progress',
  444: 'the NITRO session had expired',
  457: 'HA propagation failed',
  458: 'HA propagation failed',
  1027: 'the NITRO session had expired',
  1028: 'the call reached the HA secondary, not the primary',
  1044: 'this is a cluster node address: use the cluster IP',
  1203: 'read-only session on a cluster node: use the cluster IP',
  1243: 'a bulk operation partly failed',
  1244: 'basic authentication is disabled on the appliance',
  1461: 'too many configuration saves at once',
  1536: 'the certificate is not valid',
  1537: 'the key is invalid or needs a passphrase',
  1614: 'the passphrase does not open the key',
  1647: 'a certificate or key file named is not on the appliance',
  1538: 'the certificate and the key do not match',
  1540: 'the certificate does not exist on the appliance',
  1541: 'the certificate is still bound somewhere and cannot be changed or removed',
  1542: 'the certificate binding does not exist',
  1588: 'the certificate is not valid yet',
  1589: 'the certificate has expired',
  1642: 'a file with that name already exists on the appliance',
};

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

/** One sentence per code found in the message, e.g. "NITRO errorcode 278: the appliance refused…". */
export function explain(message: string): string[] {
  const out: string[] = [];
  for (const m of message.matchAll(/errorcode (\d+)/g)) {
    const code = Number(m[1]);
    const text = NITRO[code];
    if (text) out.push(`NITRO errorcode ${code}: ${text}.`);
  }
  for (const m of message.matchAll(/LDAP (\d+) ([A-Za-z]+)/g)) {
    const text = LDAP[m[2]!];
    if (text) out.push(`LDAP result ${m[1]} (${m[2]}): ${text}.`);
  }
  if (/directory unavailable/.test(message)) out.push('The directory could not be reached: the connection failed or was lost.');
  if (/ETIMEDOUT|ECONNREFUSED|ECONNRESET|socket hang up/.test(message)) out.push('The network connection failed: the outcome of the last write is unknown until state is read again.');
  return [...new Set(out)];
}
