// The nFactor (RfWebUI) logon: ask for the requirements, answer each round by the credential
// IDs and types the server names, until it says success or shows an error. The canary must never
// be locked out, so an error of any kind ends the check, each factor is posted at most once, and
// a round the check does not fully understand stops it before anything is posted.
import { parseAuthenticateResponse, isAuthenticateResponse, type AuthenticateResponse, type Requirement } from './authenticate-response.js';
import { NoNfactorEndpoint, type FlowVerdict, type LogonInputs } from './flow.js';
import { GatewayFailure, type GatewayResponse, type GatewaySession } from './http.js';
import { labelVerdict, unexpectedPage, vpnErrVerdict } from './verdicts.js';
import { CREDENTIAL_TYPES, DISPLAY_LABELS, EPA, EPA_FAILURE_LABEL, ERROR_LABELS, FAILURE_CREDENTIAL, IGNORED_CREDENTIALS, POLL, PUSH_TYPES, SETCLIENT, nfactorHeaders } from './vocabulary.js';

/** Real RfWebUI gateways serve the exchange under both prefixes; /nf/auth/ is tried first. */
export const REQUIREMENTS_PATHS = ['/nf/auth/getAuthenticationRequirements.do', '/p/u/getAuthenticationRequirements.do'];
export const SESSION_COOKIE = 'NSC_AAAC';
const MAX_ROUNDS = 8;
/** What a browser answers to the client choice: the clientless/ICA session, not the VPN plug-in. */
const SETCLIENT_CHOICE = 'wica';
const KNOWN_CREDENTIALS = new Set([...CREDENTIAL_TYPES.map((t) => t.toLowerCase()), 'otp']);

/** What the check has posted so far in this logon: each factor at most once. */
interface Posted {
  /** The field the password went under, once it went. */
  passwordId?: string;
  passcode: boolean;
  /** The factors in the latest credential post: the one an error answers. */
  last: { password: boolean; passcode: boolean };
  steps: string[];
}

export async function nfactorLogon(session: GatewaySession, inputs: LogonInputs): Promise<FlowVerdict> {
  const headers = nfactorHeaders(session.https);
  let path = REQUIREMENTS_PATHS[0];
  let res: GatewayResponse | undefined;
  for (const candidate of REQUIREMENTS_PATHS) {
    path = candidate;
    res = await session.postForm(candidate, {}, headers);
    if (res.status !== 404) break;
  }
  if (!res || res.status === 404) throw new NoNfactorEndpoint(`no nFactor endpoint (${REQUIREMENTS_PATHS.join(' and ')} answered 404)`);
  const posted: Posted = { passcode: false, last: { password: false, passcode: false }, steps: [] };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const doc = readDocument(res, path);
    const next = await judge(doc, res, session, inputs, posted);
    if ('verdict' in next) return next.verdict;
    path = doc.postBack !== undefined ? postBackOnGateway(doc.postBack, path, session) : postBackBeside(path);
    if (doc.stateContext) next.form['StateContext'] = doc.stateContext;
    res = await session.postForm(path, next.form, headers);
  }
  throw new GatewayFailure('unexpected-page', `the gateway still asked for more after ${MAX_ROUNDS} rounds (a login schema this check does not know)`);
}

/**
 * The PostBack the server gave, if it stays on the gateway. The next post carries the password or
 * the passcode, the StateContext and the session cookies; a PostBack on another origin (a
 * tampered page, a proxy's rewrite) would hand them to someone else, so the check stops there and
 * names the origin instead. Only the origin is named: the rest of the address may carry tokens.
 */
function postBackOnGateway(postBack: string, from: string, session: GatewaySession): string {
  let target: URL;
  try {
    target = new URL(postBack, `${session.origin}${from}`);
  } catch {
    throw new GatewayFailure('unexpected-page', 'the gateway gave a PostBack that is not a URL; nothing was posted');
  }
  if (target.origin !== session.origin) {
    throw new GatewayFailure(
      'unexpected-page',
      `the gateway's PostBack points at another origin (${target.origin}), not the gateway (${session.origin}); nothing was posted, so no credentials went there`,
    );
  }
  return postBack;
}

/** Without a PostBack, the sibling doAuthentication.do of the endpoint that answered. */
function postBackBeside(path: string): string {
  return path.replace(/[^/]*$/, 'doAuthentication.do');
}

function readDocument(res: GatewayResponse, path: string): AuthenticateResponse {
  if (res.status !== 200 || !isAuthenticateResponse(res.body)) throw unexpectedPage(path, res.status, res.contentType, res.body);
  return parseAuthenticateResponse(res.body);
}

type Next = { verdict: FlowVerdict } | { form: Record<string, string> };

/** One round: a verdict, or the form to post next. Errors are read before anything else. */
async function judge(doc: AuthenticateResponse, res: GatewayResponse, session: GatewaySession, inputs: LogonInputs, posted: Posted): Promise<Next> {
  const vpnErr = res.cookiesSet.get('NSC_VPNERR');
  const error = doc.errors[0];
  // A textless label says less than an NSC_VPNERR code beside it (4015 is a lock-out, not a wrong password).
  if (error !== undefined && !(vpnErr && doc.firstErrorTextless)) return { verdict: { flow: 'nfactor', ...labelVerdict(error, posted.last) } };
  if (doc.requirements.some((r) => r.type === FAILURE_CREDENTIAL) || vpnErr) {
    // A failure marker without a readable text: the code, or the bare fact, is the reason.
    return { verdict: { flow: 'nfactor', ...vpnErrVerdict(vpnErr ?? '', posted.last) } };
  }
  if (doc.requirements.some((r) => r.labelType === EPA_FAILURE_LABEL)) {
    throw new GatewayFailure('unexpected-page', `the gateway's endpoint analysis scan failed (label ${EPA_FAILURE_LABEL}): the device, not the credentials, was refused`);
  }
  const oddLabel = doc.requirements.find((r) => r.labelType && !DISPLAY_LABELS.has(r.labelType) && !ERROR_LABELS.has(r.labelType));
  if (oddLabel) throw new GatewayFailure('unexpected-page', `the gateway showed a label of type "${oddLabel.labelType}", which this check does not know; nothing more was posted`);
  if (doc.result === 'success') {
    if (!session.jar.has(SESSION_COOKIE)) {
      throw new GatewayFailure('unexpected-page', `the gateway answered success but set no ${SESSION_COOKIE} session cookie`);
    }
    return { verdict: { flow: 'nfactor', outcome: 'ok', message: `logged on through nFactor${stepsNote(posted)}` } };
  }
  if (doc.result !== 'more-info') {
    throw new GatewayFailure('unexpected-page', `the gateway answered Result "${doc.result || '(none)'}" without an error label`);
  }
  const odd = doc.requirements.find((r) => r.type && !KNOWN_CREDENTIALS.has(r.type));
  if (odd) {
    throw new GatewayFailure(
      'unexpected-page',
      `the login schema asks for a requirement of type "${odd.type}"${odd.id ? ` ("${odd.id}")` : ''}, which this check does not know; nothing more was posted`,
    );
  }
  const types = new Set(doc.requirements.map((r) => r.type));
  const fields = doc.requirements.filter(isField);
  const credentialsPosted = posted.passwordId !== undefined || posted.passcode;

  const pushType = [...types].find((t) => PUSH_TYPES.has(t));
  const passcodeOffered = fields.some((r) => kindOf(r, posted.passwordId, false) === 'passcode');
  if (pushType && !passcodeOffered) {
    return {
      verdict: {
        flow: 'nfactor',
        outcome: 'push-only',
        message:
          `${posted.passwordId !== undefined ? 'the password was accepted, and ' : ''}the next factor is a push notification (${pushType}) ` +
          'the user must approve on the phone; an automatic check cannot, so no passcode was sent. Give the canary a TOTP factor to prove the logon',
      },
    };
  }
  const credentialFields = fields.filter(isCredential);
  if (credentialFields.length === 0) {
    const step = [SETCLIENT, EPA, POLL].find((t) => types.has(t));
    if (step === SETCLIENT && credentialsPosted) {
      // The client choice a browser answers after a good logon: no credential in it.
      const row = doc.requirements.find((r) => r.type === SETCLIENT);
      posted.steps.push(SETCLIENT);
      return { form: { [row?.id ?? SETCLIENT]: SETCLIENT_CHOICE } };
    }
    if (step && credentialsPosted && session.jar.has(SESSION_COOKIE)) {
      posted.steps.push(step);
      return {
        verdict: {
          flow: 'nfactor',
          outcome: 'ok',
          message:
            `logged on through nFactor (the credentials were accepted and the session cookie set; the gateway's next step, ${step}, ` +
            `${describeStep(step)}, is not run by this check)${stepsNote(posted)}`,
        },
      };
    }
    if (step) {
      throw new GatewayFailure(
        'unexpected-page',
        `the gateway asks for ${describeStep(step)} (${step}) ${credentialsPosted ? 'after the credentials, but set no session cookie' : 'before any credentials'}; this check cannot complete it`,
      );
    }
  }
  return { form: await fill(fields, inputs, posted) };
}

function describeStep(step: string): string {
  if (step === EPA) return 'an endpoint analysis scan';
  if (step === POLL) return 'a polling step';
  return 'the client choice';
}

function stepsNote(posted: Posted): string {
  return posted.steps.includes(SETCLIENT) ? ' (and answered its client choice, nsg-setclient)' : '';
}

/** A row the form posts a value under: it has an ID, is not a button and carries no fixed marker. */
function isField(r: Requirement): boolean {
  return r.id !== undefined && !r.button && !IGNORED_CREDENTIALS.has(r.type);
}

function isCredential(r: Requirement): boolean {
  return r.type === 'username' || r.type === 'password' || r.type === 'passcode' || r.type === 'otp';
}

async function fill(fields: Requirement[], inputs: LogonInputs, posted: Posted): Promise<Record<string, string>> {
  const form: Record<string, string> = {};
  const round = { password: false, passcode: false };
  let passwordHere: string | undefined;
  for (const req of fields) {
    const id = req.id!;
    if (req.type === 'username') {
      form[id] = inputs.user;
      continue;
    }
    const kind = kindOf(req, posted.passwordId, passwordHere !== undefined);
    if (kind === 'passcode') {
      if (posted.passcode || round.passcode) throw askedTwice('passcode', id);
      form[id] = await inputs.passcode();
      round.passcode = true;
    } else if (kind === 'password') {
      if (posted.passwordId !== undefined || round.password) throw askedTwice('password', id);
      form[id] = inputs.password;
      round.password = true;
      passwordHere = id;
    } else {
      throw new GatewayFailure('unexpected-page', `the login schema asks for "${id}" (type ${req.type || 'unknown'}${req.label ? `, "${req.label}"` : ''}), which this check cannot fill`);
    }
  }
  if (!round.password && !round.passcode) {
    throw new GatewayFailure('unexpected-page', 'the gateway asked for no credentials this check knows (a custom login schema?)');
  }
  if (passwordHere !== undefined) posted.passwordId = passwordHere;
  if (round.passcode) posted.passcode = true;
  posted.last = round;
  return form;
}

function askedTwice(factor: 'password' | 'passcode', id: string): GatewayFailure {
  return new GatewayFailure(
    'unexpected-page',
    `the gateway asks for the ${factor} again (field "${id}") without saying why; it was not posted a second time, since a second attempt could lock the canary out`,
  );
}

const PASSCODE_HINT = /passcode|otp|one[- ]?time|token|verification|second password|^passwd1$/i;

/**
 * Which secret a field wants. The passcode often rides in a password-type field: the second one
 * of a form, or one its ID or label names so, or a masked field of a later factor. A field that
 * asks for the password once it was given is a second attempt, never a place for the passcode.
 */
function kindOf(req: Requirement, passwordPostedUnder: string | undefined, passwordInThisForm: boolean): 'password' | 'passcode' | 'unknown' {
  if (req.type === 'passcode' || req.type === 'otp') return 'passcode';
  if (req.type !== 'password') return 'unknown';
  if (PASSCODE_HINT.test(req.id ?? '') || PASSCODE_HINT.test(req.label)) return 'passcode';
  if (passwordInThisForm) return 'passcode';
  if (passwordPostedUnder === undefined) return 'password';
  if (req.id === passwordPostedUnder || /password/i.test(req.label)) return 'password';
  return 'passcode';
}
