// The codes a failure carries travel as fields, read off the error classes along the cause
// chain — never out of the words of a message.
import { describe, expect, it } from 'vitest';
import { CasConflict, DirectoryUnavailable } from '../../src/directory/errors.js';
import { AdcError, EXIT, errorCodes, mergeCodes } from '../../src/errors.js';
import { NitroError } from '../../src/nitro/errors.js';

const nitro = (errorcode: number | undefined) => new NitroError({ appliance: 'adc1', method: 'DELETE', resource: 'vpnglobal_sslcertkey_binding', httpStatus: 599, errorcode, message: 'refused' });

describe('error codes', () => {
  it('reads NITRO errorcodes and LDAP results along the cause chain', () => {
    const err = new AdcError('unbind failed on adc1', EXIT.failedRolledBack, { cause: nitro(349) });
    expect(errorCodes(err)).toEqual({ nitro: [349] });
    expect(errorCodes(new CasConflict('modify cn=x: LDAP 20', 'cn=x', 20))).toEqual({ ldap: [{ code: 20, name: 'attributeOrValueExists' }] });
    expect(errorCodes(new DirectoryUnavailable('gone', 'cn=x'))).toEqual({ directoryUnavailable: true });
  });

  it('takes a network failure from the system error code, not from its text', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(errorCodes(new AdcError('no reply', EXIT.failedRolledBack, { cause: reset }))).toEqual({ network: ['ECONNRESET'] });
    expect(errorCodes(new Error('errorcode 278 ETIMEDOUT LDAP 50 insufficientAccessRights'))).toBeUndefined();
  });

  it('a summary error carries the codes of the failures it sums up, merged without repeats', () => {
    const codes = mergeCodes([{ nitro: [278] }, undefined, { nitro: [278, 1540], ldap: [{ code: 50, name: 'insufficientAccessRights' }] }]);
    expect(codes).toEqual({ nitro: [278, 1540], ldap: [{ code: 50, name: 'insufficientAccessRights' }] });
    expect(errorCodes(new AdcError('2 appliances failed', EXIT.failedRolledBack, { codes }))).toEqual(codes);
    expect(mergeCodes([undefined])).toBeUndefined();
    expect(errorCodes(nitro(undefined))).toBeUndefined();
  });
});
