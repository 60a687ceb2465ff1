// Typed directory errors: each carries the DN and the LDAP result code an operator needs, so the
// engine decides on a class (retry, refuse, stop) and never by parsing a message.
import { ResultCodeError } from 'ldapts';
import { AdcError, EXIT, InputError, errorMessage, type ErrorCodes } from '../errors.js';

export class DirectoryError extends AdcError {
  constructor(
    message: string,
    readonly dn?: string,
    readonly resultCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, EXIT.failedRolledBack, options);
  }

  override ownCodes(): ErrorCodes {
    return this.resultCode !== undefined ? { ldap: [{ code: this.resultCode, name: resultName(this.resultCode) }] } : {};
  }
}

/** The stored value was not the one we read (result 16, 19 or 20): someone changed it meanwhile. */
export class CasConflict extends DirectoryError {}

/** The bind account may not do this to this entry (result 50). */
export class InsufficientAccess extends DirectoryError {}

/** The server is unreachable or dropped the connection: the outcome of an in-flight write is unknown until read. */
export class DirectoryUnavailable extends DirectoryError {
  override ownCodes(): ErrorCodes {
    return { ...super.ownCodes(), directoryUnavailable: true };
  }
}

/** The entry is gone (result 32, or a base search that found nothing). */
export class NoSuchEntry extends DirectoryError {}

/** A write attempted on a dry-run connection. */
export class DryRunRefusal extends DirectoryError {}

/**
 * The search base the operator gave does not exist (32) or is not a DN (34): bad input, exit 2,
 * not a failed run. `value` is the base as given, so a caller can name the field it came from.
 */
export class BadSearchBase extends InputError {
  constructor(
    readonly value: string,
    readonly resultCode: number,
    options?: { cause?: unknown },
  ) {
    super(`search base ${JSON.stringify(value)}: ${resultCode === 32 ? 'no such entry in the directory' : 'not a valid DN'} (LDAP ${resultCode} ${resultName(resultCode)})`, options);
  }
}

const RESULT_NAMES: Record<number, string> = {
  16: 'noSuchAttribute',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  65: 'objectClassViolation',
  4: 'sizeLimitExceeded',
};

export function resultName(code: number): string {
  return RESULT_NAMES[code] ?? `result ${code}`;
}

/**
 * Wraps whatever ldapts threw into a DirectoryError naming the operation, the DN and the result
 * code. Anything that is not an LDAP result is a transport failure: DirectoryUnavailable.
 */
export function toDirectoryError(err: unknown, op: string, dn: string, conflictCodes: readonly number[] = []): DirectoryError {
  if (err instanceof DirectoryError) return err;
  if (err instanceof ResultCodeError) {
    const text = `${op} ${dn}: LDAP ${err.code} ${resultName(err.code)}${err.message ? ` (${err.message})` : ''}`;
    if (conflictCodes.includes(err.code)) return new CasConflict(text, dn, err.code, { cause: err });
    if (err.code === 32) return new NoSuchEntry(text, dn, err.code, { cause: err });
    if (err.code === 50) return new InsufficientAccess(text, dn, err.code, { cause: err });
    if (err.code === 51 || err.code === 52) return new DirectoryUnavailable(text, dn, err.code, { cause: err });
    return new DirectoryError(text, dn, err.code, { cause: err });
  }
  return new DirectoryUnavailable(`${op} ${dn}: directory unavailable: ${errorMessage(err)}`, dn, undefined, { cause: err });
}
