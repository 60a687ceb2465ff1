// The nFactor (RfWebUI) logon: ask for the requirements, answer each round by the credential
// IDs and types the server names, until it says success or shows an error label. An error is
// never retried: a second attempt can lock the canary out.
import { parseAuthenticateResponse, isAuthenticateResponse, type AuthenticateResponse, type Requirement } from './authenticate-response.js';
import { NoNfactorEndpoint, type FlowVerdict, type LogonInputs } from './flow.js';
import { GatewayFailure, type GatewayResponse, type GatewaySession } from './http.js';
import { labelVerdict, unexpectedPage } from './verdicts.js';

export const REQUIREMENTS_PATH = '/nf/auth/getAuthenticationRequirements.do';
const DEFAULT_POSTBACK = '/nf/auth/doAuthentication.do';
export const SESSION_COOKIE = 'NSC_AAAC';
const MAX_ROUNDS = 6;

export async function nfactorLogon(session: GatewaySession, inputs: LogonInputs): Promise<FlowVerdict> {
  const first = await session.postForm(REQUIREMENTS_PATH, {});
  if (first.status === 404) throw new NoNfactorEndpoint(`no nFactor endpoint (${REQUIREMENTS_PATH} answered 404)`);
  let doc = readDocument(first, REQUIREMENTS_PATH);
  const sent = { password: false, passcode: false };
  const state = { passwordSent: false };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (doc.result === 'success') {
      if (!session.jar.has(SESSION_COOKIE)) {
        throw new GatewayFailure('unexpected-page', `the gateway answered success but set no ${SESSION_COOKIE} session cookie`);
      }
      return { flow: 'nfactor', outcome: 'ok', message: 'logged on through nFactor' };
    }
    const error = doc.errors[0];
    if (error !== undefined) return { flow: 'nfactor', ...labelVerdict(error, sent) };
    if (doc.result !== 'more-info') {
      throw new GatewayFailure('unexpected-page', `the gateway answered Result "${doc.result || '(none)'}" without an error label`);
    }
    const fields = await fill(doc.requirements, inputs, state);
    sent.password = fields.password;
    sent.passcode = fields.passcode;
    if (doc.stateContext) fields.form['StateContext'] = doc.stateContext;
    const postBack = doc.postBack ?? DEFAULT_POSTBACK;
    doc = readDocument(await session.postForm(postBack, fields.form), postBack);
  }
  throw new GatewayFailure('unexpected-page', `the gateway still asked for more after ${MAX_ROUNDS} rounds (a login schema this check does not know)`);
}

function readDocument(res: GatewayResponse, path: string): AuthenticateResponse {
  if (res.status !== 200 || !isAuthenticateResponse(res.body)) throw unexpectedPage(path, res.status, res.contentType, res.body);
  return parseAuthenticateResponse(res.body);
}

/** Fields the check knows how to answer; anything else the schema requires stops the check. */
const IGNORED_TYPES = new Set(['none', 'savecredentials']);

interface Filled {
  form: Record<string, string>;
  password: boolean;
  passcode: boolean;
}

async function fill(requirements: Requirement[], inputs: LogonInputs, state: { passwordSent: boolean }): Promise<Filled> {
  const out: Filled = { form: {}, password: false, passcode: false };
  for (const req of requirements) {
    if (IGNORED_TYPES.has(req.type)) continue;
    if (req.type === 'username') {
      out.form[req.id] = inputs.user;
    } else if (isPasscodeField(req, state.passwordSent || out.password)) {
      out.form[req.id] = await inputs.passcode();
      out.passcode = true;
    } else if (req.type === 'password') {
      out.form[req.id] = inputs.password;
      out.password = true;
    } else {
      throw new GatewayFailure('unexpected-page',
        `the login schema asks for "${req.id}" (type ${req.type || 'unknown'}${req.label ? `, "${req.label}"` : ''}), which this check cannot fill`);
    }
  }
  if (!out.password && !out.passcode && !Object.keys(out.form).length) {
    throw new GatewayFailure('unexpected-page', 'the gateway asked for no credentials this check knows (a custom login schema?)');
  }
  if (out.password) state.passwordSent = true;
  return out;
}

const PASSCODE_HINT = /passcode|otp|one[- ]?time|token|verification|second password|^passwd1$/i;

/** The passcode rides in a password-type field: the second one, or one its ID or label names so. */
function isPasscodeField(req: Requirement, passwordAlreadyGiven: boolean): boolean {
  if (req.type === 'passcode' || req.type === 'otp') return true;
  if (req.type !== 'password') return false;
  return passwordAlreadyGiven || PASSCODE_HINT.test(req.id) || PASSCODE_HINT.test(req.label);
}
