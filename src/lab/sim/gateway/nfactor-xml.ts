// The nFactor AuthenticateResponse documents (RfWebUI): requirements for the login form,
// an error label on failure, and the success answer.

export const AUTH_RESPONSE_TYPE = 'application/vnd.citrix.authenticateresponse-1+xml; charset=utf-8';
export const POSTBACK = '/nf/auth/doAuthentication.do';
export const LOGOFF = '/nf/auth/doLogoff.do';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function credential(id: string, type: 'username' | 'password', label: string, secret: boolean, saveId?: string): string {
  return `<Requirement><Credential><ID>${id}</ID>${saveId ? `<SaveID>${saveId}</SaveID>` : ''}<Type>${type}</Type></Credential>`
    + `<Label><Text>${esc(label)}</Text><Type>plain</Type></Label>`
    + `<Input><Text><Secret>${secret}</Secret><ReadOnly>false</ReadOnly><InitialValue></InitialValue><Constraint>.+</Constraint></Text></Input></Requirement>`;
}

function envelope(result: 'more-info' | 'success', stateContext: string, requirements: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<AuthenticateResponse xmlns="http://citrix.com/authentication/response/1">'
    + `<Status>success</Status><Result>${result}</Result><StateContext>${esc(stateContext)}</StateContext>`
    + `<AuthenticationRequirements><PostBack>${POSTBACK}</PostBack><CancelPostBack>${LOGOFF}</CancelPostBack>`
    + `<CancelButtonText>Cancel</CancelButtonText><Requirements>${requirements}</Requirements></AuthenticationRequirements>`
    + '</AuthenticateResponse>\n';
}

export type LoginField = 'login' | 'passwd' | 'passwd1';

const FIELDS: Record<LoginField, string> = {
  login: credential('login', 'username', 'User name', false, 'Username'),
  passwd: credential('passwd', 'password', 'Password:', true, 'Password'),
  passwd1: credential('passwd1', 'password', 'Passcode:', true),
};

/**
 * A form asking for `fields`: all three in one factor (the common Native OTP policy), or
 * login+passwd and then passwd1 when the OTP is a separate factor.
 */
export function loginRequirements(stateContext: string, error?: string, fields: LoginField[] = ['login', 'passwd', 'passwd1']): string {
  const errorLabel = error
    ? `<Requirement><Credential><Type>none</Type></Credential><Label><Text>${esc(error)}</Text><Type>error</Type></Label><Input/></Requirement>`
    : '';
  const title = fields.includes('login') ? 'Please log on' : 'Enter the passcode from your authenticator app';
  return envelope('more-info', stateContext, errorLabel
    + `<Requirement><Credential><Type>none</Type></Credential><Label><Text>${title}</Text><Type>nsg-login-label</Type></Label><Input/></Requirement>`
    + fields.map((f) => FIELDS[f]).join('')
    + '<Requirement><Credential><ID>loginBtn</ID><Type>none</Type></Credential><Label><Type>none</Type></Label><Input><Button>Log On</Button></Input></Requirement>');
}

export function successResponse(): string {
  return envelope('success', '', '');
}
