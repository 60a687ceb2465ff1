// The nFactor vocabulary: the credential and label types a browser on the RfWebUI theme
// announces (X-Citrix-AM-CredentialTypes / X-Citrix-AM-LabelTypes), sorted by what this check
// does with each. The gateway only presents types its client announced, so every announced type
// has a rule here; a type outside these lists is named in the verdict rather than guessed at.

/** Announced as a current browser does; the check recognises each one (see the sets below). */
export const CREDENTIAL_TYPES = [
  'none',
  'username',
  'domain',
  'password',
  'newpassword',
  'passcode',
  'savecredentials',
  'textcredential',
  'webview',
  'nsg-epa',
  'nsg-x1',
  'nsg-setclient',
  'nsg-eula',
  'nsg-tlogin',
  'nsg-fullvpn',
  'nsg-hidden',
  'nsg-auth-failure',
  'nsg-auth-success',
  'nsg-epa-success',
  'nsg-l20n',
  'GoBack',
  'nf-recaptcha',
  'ns-dialogue',
  'nf-gw-test',
  'nf-poll',
  'nsg_qrcode',
  'nsg_manageotp',
  'negotiate',
  'nsg_push',
  'nsg_push_otp',
  'nf_sspr_rem',
];

export const LABEL_TYPES = [
  'none',
  'plain',
  'heading',
  'information',
  'warning',
  'error',
  'confirmation',
  'image',
  'nsg-epa',
  'nsg-epa-failure',
  'nsg-login-label',
  'tlogin-failure-msg',
  'nsg-tlogin-heading',
  'nsg-tlogin-single-res',
  'nsg-tlogin-multi-res',
  'nsg-tlogin',
  'nsg-login-heading',
  'nsg-fullvpn',
  'nsg-l20n',
  'nsg-l20n-error',
  'certauth-failure-msg',
  'dialogue-label',
  'nsg-change-pass-assistive-text',
  'nsg_confirmation',
  'nsg_kba_registration_heading',
  'nsg_email_registration_heading',
  'nsg_kba_validation_question',
  'nsg_sspr_success',
  'nf-manage-otp',
];

/** Labels that say the previous post failed. `l20n-error` is seen in public tools besides the announced two. */
export const ERROR_LABELS = new Set(['error', 'nsg-l20n-error', 'l20n-error', 'tlogin-failure-msg', 'certauth-failure-msg']);

/** The endpoint scan failed: the device, not the credentials. */
export const EPA_FAILURE_LABEL = 'nsg-epa-failure';

/** Labels that only show text: nothing to answer. */
export const DISPLAY_LABELS = new Set(LABEL_TYPES.filter((t) => !ERROR_LABELS.has(t) && t !== EPA_FAILURE_LABEL));

/** A credential type that marks the round as failed (its label carries the reason). */
export const FAILURE_CREDENTIAL = 'nsg-auth-failure';

/** Steps a gateway adds after the credentials were accepted. */
export const SETCLIENT = 'nsg-setclient';
export const EPA = 'nsg-epa';
export const POLL = 'nf-poll';
export const PUSH_TYPES = new Set(['nsg_push', 'nsg_push_otp']);

/** Fields that need no answer from the check. */
export const IGNORED_CREDENTIALS = new Set(['none', 'savecredentials', 'nsg-auth-success', 'nsg-epa-success', 'nsg-l20n']);

/** Headers a browser's RfWebUI page sends on the nFactor exchange. */
export function nfactorHeaders(https: boolean): Record<string, string> {
  return {
    'X-Citrix-IsUsingHTTPS': https ? 'Yes' : 'No',
    'X-Citrix-AM-CredentialTypes': CREDENTIAL_TYPES.join(', '),
    'X-Citrix-AM-LabelTypes': LABEL_TYPES.join(', '),
    'X-Requested-With': 'XMLHttpRequest',
  };
}

/** The meaning of the NSC_VPNERR codes a failed logon can carry (the theme's en.xml texts, abridged). */
export const VPNERR_TEXT: Record<string, string> = {
  '4001': 'incorrect user name or password',
  '4002': 'no permission to log on',
  '4006': 'incorrect user name',
  '4007': 'incorrect password',
  '4009': 'user not found',
  '4010': 'no permission to log on at this time',
  '4011': 'account disabled',
  '4012': 'password expired',
  '4015': 'account temporarily locked',
  '4017': 'unable to process the request',
};

/** Codes that mean the account, not the credentials. */
export const VPNERR_LOCKED = new Set(['4011', '4015']);
