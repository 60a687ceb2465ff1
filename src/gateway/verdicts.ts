// Turning what a gateway said into an outcome. Gateways word their errors per deployment (and
// per language), so the wording is only a hint; which factor was posted in the failing round
// is the stronger evidence.
import type { LogonOutcome } from './types.js';
import { GatewayFailure } from './http.js';
import { VPNERR_LOCKED, VPNERR_TEXT } from './vocabulary.js';

export interface Verdict {
  outcome: Exclude<LogonOutcome, 'unreachable' | 'tls-failure' | 'unexpected-page' | 'secret-unreadable'>;
  message: string;
}

const LOCKED = /lock|disabled|suspend|too many/i;
const PASSWORD = /password|user ?name/i;
const PASSCODE = /passcode|otp|one[- ]?time|token|verification code|second (factor|password)/i;

/** An error label after a post that carried the password, the passcode, or both. */
export function labelVerdict(rawLabel: string, sent: { password: boolean; passcode: boolean }): Verdict {
  // Localised themes send a message key (errorMessageLabel4007) rather than the text.
  const code = /^errorMessageLabel(\d{4})$/i.exec(rawLabel.trim())?.[1];
  if (code !== undefined) return vpnErrVerdict(code, sent);
  const label = rawLabel;
  const quoted = `"${label}"`;
  if (LOCKED.test(label)) return { outcome: 'user-locked', message: `the user is locked out or disabled: the gateway said ${quoted}` };
  if (sent.passcode && !sent.password) return { outcome: 'wrong-passcode', message: `the passcode was refused: the gateway said ${quoted}` };
  if (sent.password && !sent.passcode) return { outcome: 'wrong-password', message: `the user name or password was refused: the gateway said ${quoted}` };
  if (PASSCODE.test(label)) return { outcome: 'wrong-passcode', message: `the passcode was refused: the gateway said ${quoted}` };
  if (PASSWORD.test(label)) return { outcome: 'wrong-password', message: `the user name or password was refused: the gateway said ${quoted}` };
  return {
    outcome: 'wrong-password',
    message: `the credentials were refused: the gateway said ${quoted} (it does not say whether the password or the passcode was wrong)`,
  };
}

/** An nFactor failure given as an NSC_VPNERR code (or as a bare failure marker: code ''). */
export function vpnErrVerdict(code: string, sent: { password: boolean; passcode: boolean }): Verdict {
  const what = code ? `NSC_VPNERR ${code}${VPNERR_TEXT[code] ? `, ${VPNERR_TEXT[code]}` : ''}` : 'a failure marker (nsg-auth-failure) without a text';
  if (VPNERR_LOCKED.has(code)) return { outcome: 'user-locked', message: `the user is locked out or disabled (${what})` };
  if (sent.passcode && !sent.password) return { outcome: 'wrong-passcode', message: `the passcode was refused (${what})` };
  return {
    outcome: 'wrong-password',
    message: `the credentials were refused (${what})${sent.passcode ? '; the gateway does not say whether the password or the passcode was wrong' : ''}`,
  };
}

export function classicVerdict(vpnErr: string, origin: string): Verdict {
  if (VPNERR_LOCKED.has(vpnErr)) return { outcome: 'user-locked', message: `the user is locked out or disabled (NSC_VPNERR ${vpnErr})` };
  if (vpnErr === '4001') {
    // 4001 is both "incorrect user name or password" and how builds since 13.1-63 refuse a
    // logon POST whose Origin they do not accept: reading it as a wrong password could send an
    // operator to reset a good password.
    return {
      outcome: 'refused-4001',
      message:
        `the gateway refused the classic logon with NSC_VPNERR 4001: either the user name, password or passcode is wrong, or the gateway ` +
        `did not accept the request's origin (${origin}; builds since 13.1-63 refuse a logon POST without a matching Origin). ` +
        'Check the gateway under the name users reach it by, and the credentials',
    };
  }
  return {
    outcome: 'wrong-password',
    message: `the credentials were refused (NSC_VPNERR ${vpnErr}${VPNERR_TEXT[vpnErr] ? `, ${VPNERR_TEXT[vpnErr]}` : ''}; the classic flow does not say whether the password or the passcode was wrong)`,
  };
}

const BOT = /captcha|recaptcha|hcaptcha|turnstile|are you (a )?(human|robot)|bot protection|bot management/i;

/** An HTML page (or anything else) where the gateway's protocol answer was expected. */
export function unexpectedPage(where: string, status: number, contentType: string, body: string): GatewayFailure {
  if (BOT.test(body)) {
    return new GatewayFailure(
      'unexpected-page',
      `${where} answered with a bot-protection page (captcha or challenge, HTTP ${status}); a plain HTTP client cannot pass it, so check this gateway by hand or exempt the check's address`,
    );
  }
  const kind = /html/i.test(contentType) || /<html[\s>]/i.test(body) ? 'an HTML page' : `${contentType || 'an untyped body'}`;
  return new GatewayFailure(
    'unexpected-page',
    `${where} answered HTTP ${status} with ${kind} where the gateway's logon protocol was expected (a custom login schema, a portal theme or a device in front of the gateway)`,
  );
}
