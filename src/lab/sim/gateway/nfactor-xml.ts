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

/** One factor asking for user name, password and passcode together (the common Native OTP policy). */
export function loginRequirements(stateContext: string, error?: string): string {
  const errorLabel = error
    ? `<Requirement><Credential><Type>none</Type></Credential><Label><Text>${esc(error)}</Text><Type>error</Type></Label><Input/></Requirement>`
    : '';
  return envelope('more-info', stateContext, errorLabel
    + `<Requirement><Credential><Type>none</Type></Credential><Label><Text>Please log on</Text><Type>nsg-login-label</Type></Label><Input/></Requirement>`
    + credential('login', 'username', 'User name', false, 'Username')
    + credential('passwd', 'password', 'Password:', true, 'Password')
    + credential('passwd1', 'password', 'Passcode:', true)
    + '<Requirement><Credential><ID>loginBtn</ID><Type>none</Type></Credential><Label><Type>none</Type></Label><Input><Button>Log On</Button></Input></Requirement>');
}

export function successResponse(): string {
  return envelope('success', '', '');
}
