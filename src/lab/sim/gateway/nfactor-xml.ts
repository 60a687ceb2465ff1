// The nFactor AuthenticateResponse documents (RfWebUI): requirements for the login form, a
// failure in the style the appliance is set to, the post-logon steps, and the success answer.

export const AUTH_RESPONSE_TYPE = 'application/vnd.citrix.authenticateresponse-1+xml; charset=utf-8';
export const NF_PREFIX = '/nf/auth/';
export const POSTBACK = `${NF_PREFIX}doAuthentication.do`;
export const LOGOFF = `${NF_PREFIX}doLogoff.do`;
export const SETCLIENT_POSTBACK = '/p/u/setClient.do';

export type ErrorStyle = 'error' | 'nsg-l20n-error' | 'nsg-auth-failure';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function credential(id: string, type: string, label: string, secret: boolean, saveId?: string): string {
  return (
    `<Requirement><Credential><ID>${id}</ID>${saveId ? `<SaveID>${saveId}</SaveID>` : ''}<Type>${type}</Type></Credential>` +
    `<Label><Text>${esc(label)}</Text><Type>plain</Type></Label>` +
    `<Input><Text><Secret>${secret}</Secret><ReadOnly>false</ReadOnly><InitialValue></InitialValue><Constraint>.+</Constraint></Text></Input></Requirement>`
  );
}

function row(type: string, labelText: string, labelType: string, id?: string): string {
  return `<Requirement><Credential>${id ? `<ID>${id}</ID>` : ''}<Type>${type}</Type></Credential>` + `<Label><Text>${esc(labelText)}</Text><Type>${labelType}</Type></Label><Input/></Requirement>`;
}

const BUTTON = '<Requirement><Credential><ID>loginBtn</ID><Type>none</Type></Credential><Label><Type>none</Type></Label><Input><Button>Log On</Button></Input></Requirement>';

function envelope(result: 'more-info' | 'success', stateContext: string, requirements: string, postBack = POSTBACK): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<AuthenticateResponse xmlns="http://citrix.com/authentication/response/1">' +
    `<Status>success</Status><Result>${result}</Result><StateContext>${esc(stateContext)}</StateContext>` +
    `<AuthenticationRequirements><PostBack>${esc(postBack)}</PostBack><CancelPostBack>${LOGOFF}</CancelPostBack>` +
    `<CancelButtonText>Cancel</CancelButtonText><Requirements>${requirements}</Requirements></AuthenticationRequirements>` +
    '</AuthenticateResponse>\n'
  );
}

export type LoginField = 'login' | 'passwd' | 'passwd1';

const FIELDS: Record<LoginField, string> = {
  login: credential('login', 'username', 'User name', false, 'Username'),
  passwd: credential('passwd', 'password', 'Password:', true, 'Password'),
  passwd1: credential('passwd1', 'password', 'Passcode:', true),
};

export interface Failure {
  /** The text the appliance shows. */
  text: string;
  /** The NSC_VPNERR code behind it, for the localised style. */
  code: string;
  style: ErrorStyle;
}

/** A failed round as the theme shows it: an error label, a message key under nsg-l20n-error, or a failure row. */
function failureRow(f: Failure): string {
  if (f.style === 'nsg-l20n-error') return row('none', `errorMessageLabel${f.code}`, 'nsg-l20n-error');
  if (f.style === 'nsg-auth-failure') return row('nsg-auth-failure', f.text, 'plain', 'nsg-auth-failure');
  return row('none', f.text, 'error');
}

export interface FormExtras {
  requirementType?: string;
  labelType?: string;
}

/**
 * A form asking for `fields`: all three in one factor (the common Native OTP policy), or
 * login+passwd and then passwd1 when the OTP is a separate factor.
 */
export function loginRequirements(stateContext: string, failure?: Failure, fields: LoginField[] = ['login', 'passwd', 'passwd1'], postBack = POSTBACK, extras: FormExtras = {}): string {
  const title = fields.includes('login') ? 'Please log on' : 'Enter the passcode from your authenticator app';
  return envelope(
    'more-info',
    stateContext,
    (failure ? failureRow(failure) : '') +
      row('none', title, 'nsg-login-label') +
      (extras.labelType ? row('none', 'Notice', extras.labelType) : '') +
      fields.map((f) => FIELDS[f]).join('') +
      (extras.requirementType ? credential('extra', extras.requirementType, 'More', false) : '') +
      BUTTON,
    postBack,
  );
}

/** The client choice a browser answers after a good logon. */
export function setClientRequirements(stateContext: string): string {
  return envelope('more-info', stateContext, row('nsg-setclient', 'Choose a client', 'plain', 'nsg-setclient'), SETCLIENT_POSTBACK);
}

/** An endpoint analysis scan the client is to run and report. */
export function epaRequirements(stateContext: string, postBack: string): string {
  return envelope('more-info', stateContext, row('nsg-epa', 'Checking your device', 'nsg-epa', 'nsg-epa'), postBack);
}

export function epaFailed(stateContext: string, postBack: string): string {
  return envelope('more-info', stateContext, row('none', 'Your device does not meet the requirements', 'nsg-epa-failure'), postBack);
}

/** A push approval the user gives on the phone; the client polls until it is given. */
export function pushRequirements(stateContext: string, postBack: string): string {
  return envelope('more-info', stateContext, row('nsg_push', 'Approve the notification sent to your phone', 'plain', 'nsg_push') + row('nf-poll', '', 'none', 'nf-poll'), postBack);
}

export function successResponse(): string {
  return envelope('success', '', '');
}
