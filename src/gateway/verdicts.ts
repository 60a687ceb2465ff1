// Turning what a gateway said into an outcome. Gateways word their errors per deployment (and
// per language), so the wording is only a hint; which factor was posted in the failing round
// is the stronger evidence.
import type { LogonOutcome } from './types.js';
import { GatewayFailure } from './http.js';

export interface Verdict {
  outcome: Exclude<LogonOutcome, 'unreachable' | 'tls-failure' | 'unexpected-page' | 'secret-unreadable'>;
  message: string;
}

const LOCKED = /lock|disabled|suspend|too many/i;
const PASSWORD = /password|user ?name/i;
const PASSCODE = /passcode|otp|one[- ]?time|token|verification code|second (factor|password)/i;

/** An error label after a post that carried the password, the passcode, or both. */
export function labelVerdict(label: string, sent: { password: boolean; passcode: boolean }): Verdict {
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

/** NSC_VPNERR codes of the classic theme that mean the account, not the credentials. */
const CLASSIC_LOCKED = new Set(['4011', '4015']);

export function classicVerdict(vpnErr: string): Verdict {
  if (CLASSIC_LOCKED.has(vpnErr)) return { outcome: 'user-locked', message: `the user is locked out or disabled (NSC_VPNERR ${vpnErr})` };
  return {
    outcome: 'wrong-password',
    message: `the credentials were refused (NSC_VPNERR ${vpnErr}; the classic flow does not say whether the password or the passcode was wrong)`,
  };
}

const BOT = /captcha|recaptcha|hcaptcha|turnstile|are you (a )?(human|robot)|bot protection|bot management/i;

/** An HTML page (or anything else) where the gateway's protocol answer was expected. */
export function unexpectedPage(where: string, status: number, contentType: string, body: string): GatewayFailure {
  if (BOT.test(body)) {
    return new GatewayFailure('unexpected-page',
      `${where} answered with a bot-protection page (captcha or challenge, HTTP ${status}); a plain HTTP client cannot pass it, so check this gateway by hand or exempt the check's address`);
  }
  const kind = /html/i.test(contentType) || /<html[\s>]/i.test(body) ? 'an HTML page' : `${contentType || 'an untyped body'}`;
  return new GatewayFailure('unexpected-page',
    `${where} answered HTTP ${status} with ${kind} where the gateway's logon protocol was expected (a custom login schema, a portal theme or a device in front of the gateway)`);
}
