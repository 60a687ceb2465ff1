import { describe, expect, it } from 'vitest';
import { parseAuthenticateResponse, isAuthenticateResponse } from '../../src/gateway/authenticate-response.js';
import { CookieJar } from '../../src/gateway/cookies.js';
import { labelVerdict, classicVerdict } from '../../src/gateway/verdicts.js';
import { authResponse, LOGIN_FIELDS } from './fake-gateway.js';

describe('AuthenticateResponse', () => {
  it('reads the result, state, postback, credentials and error labels', () => {
    const doc = parseAuthenticateResponse(authResponse({ result: 'more-info', state: 'abc&amp;1', fields: LOGIN_FIELDS, error: 'Incorrect credentials. Try again.' }));
    expect(doc.result).toBe('more-info');
    expect(doc.stateContext).toBe('abc&1');
    expect(doc.postBack).toBe('/nf/auth/doAuthentication.do');
    expect(doc.cancelPostBack).toBe('/nf/auth/doLogoff.do');
    expect(doc.requirements.map((r) => [r.id, r.type, r.secret])).toEqual([
      ['login', 'username', false],
      ['passwd', 'password', true],
      ['passwd1', 'password', true],
      [undefined, 'none', false],
      ['loginBtn', 'none', false],
    ]);
    expect(doc.requirements.map((r) => r.button)).toEqual([false, false, false, false, true]);
    expect(doc.errors).toEqual(['Incorrect credentials. Try again.']);
  });

  it('reads CDATA texts and tells the document from an HTML page', () => {
    const xml =
      '<AuthenticateResponse><Result>success</Result><AuthenticationRequirements><Requirements><Requirement><Credential><Type>none</Type></Credential><Label><Text><![CDATA[Your account is <b>locked</b>]]></Text><Type>error</Type></Label></Requirement></Requirements></AuthenticationRequirements></AuthenticateResponse>';
    expect(isAuthenticateResponse(xml)).toBe(true);
    expect(isAuthenticateResponse('<html><body>Please log on</body></html>')).toBe(false);
    const doc = parseAuthenticateResponse(xml);
    expect(doc.result).toBe('success');
    expect(doc.errors).toEqual(['Your account is <b>locked</b>']);
    expect(doc.stateContext).toBeUndefined();
  });
});

describe('CookieJar', () => {
  it('keeps cookies and drops those the server expires or empties', () => {
    const jar = new CookieJar();
    jar.store(['NSC_TMAS=abc; Path=/; Secure; HttpOnly', 'NSC_AAAC=xyz;Path=/', 'pwcount=0']);
    expect(jar.header()).toBe('NSC_TMAS=abc; NSC_AAAC=xyz; pwcount=0');
    jar.store(['NSC_AAAC=xyz; Path=/; Expires=Wed, 09 Nov 1999 23:12:40 GMT', 'NSC_TMAS=; Path=/', 'pwcount=1; Max-Age=0']);
    expect(jar.has('NSC_AAAC')).toBe(false);
    expect(jar.header()).toBeUndefined();
  });
});

describe('verdicts', () => {
  it('blames the factor that was posted alone, and the wording when both were', () => {
    expect(labelVerdict('Try again', { password: false, passcode: true }).outcome).toBe('wrong-passcode');
    expect(labelVerdict('Try again', { password: true, passcode: false }).outcome).toBe('wrong-password');
    expect(labelVerdict('Incorrect passcode', { password: true, passcode: true }).outcome).toBe('wrong-passcode');
    expect(labelVerdict('Incorrect user name or password', { password: true, passcode: true }).outcome).toBe('wrong-password');
    expect(labelVerdict('Cannot complete your request.', { password: true, passcode: true }).message).toMatch(/does not say whether/);
    expect(labelVerdict('Your account is locked out', { password: true, passcode: true }).outcome).toBe('user-locked');
    expect(classicVerdict('4015', 'https://gw').outcome).toBe('user-locked');
    expect(classicVerdict('4007', 'https://gw').outcome).toBe('wrong-password');
    // 4001 is also how 13.1-63+ refuses a POST without Origin: its own verdict, naming both readings.
    const refused = classicVerdict('4001', 'https://gw');
    expect(refused.outcome).toBe('refused-4001');
    expect(refused.message).toMatch(/Origin/);
    // A localised theme's message key carries the NSC_VPNERR code.
    expect(labelVerdict('errorMessageLabel4015', { password: true, passcode: true }).outcome).toBe('user-locked');
    expect(labelVerdict('errorMessageLabel4007', { password: true, passcode: false })).toMatchObject({ outcome: 'wrong-password', message: expect.stringMatching(/4007, incorrect password/) });
  });
});
