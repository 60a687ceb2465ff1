// One OTP logon through a gateway, start to finish: the passcode, the flow (nFactor, or the
// classic page when the gateway has no nFactor endpoint), the verdict, and the log-off so the
// check leaves no session behind on the appliance.
import { InputError } from '../errors.js';
import { classicLogon } from './classic.js';
import { NoNfactorEndpoint, type FlowVerdict, type LogonInputs } from './flow.js';
import { GatewayFailure, GatewaySession } from './http.js';
import { nfactorLogon, SESSION_COOKIE } from './nfactor.js';
import { openLogonPage } from './start-page.js';
import { acceptedStepKey, deviceSecret, freshCode, processAcceptedSteps, SecretUnreadable, systemClock, type DeviceSecret } from './passcode.js';
import type { FlowChoice, LogonCheckOptions, LogonResult } from './types.js';

export const LOGOFF_PATH = '/cgi/logout';

export async function logonCheck(opts: LogonCheckOptions): Promise<LogonResult> {
  const gatewayUrl = validateUrl(opts.gatewayUrl);
  if (!opts.user) throw new InputError('logon check: no user name given');
  if (!opts.password) throw new InputError('logon check: no password given');
  const pin = opts.tls?.fingerprintSha256;
  if (pin !== undefined && !/^[0-9a-f]{64}$/i.test(pin.replace(/^sha256:/i, '').replace(/[:\s]/g, ''))) {
    throw new InputError(`logon check: the pinned fingerprint for ${opts.gatewayUrl} is not a SHA-256 (64 hex digits)`);
  }
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  const requested: FlowChoice = opts.flow ?? 'auto';
  const secrets: string[] = [opts.password];
  let totpWaitMs = 0;
  const finish = (r: Omit<LogonResult, 'gatewayUrl' | 'durationMs' | 'totpWaitMs' | 'message' | 'warnings'> & { message: string }, warnings: string[] = []): LogonResult => ({
    ...r,
    gatewayUrl,
    durationMs: clock.now() - started,
    totpWaitMs,
    message: `${gatewayUrl}: ${redact(r.message, secrets)}`,
    warnings: warnings.map((w) => redact(w, secrets)),
  });

  let device: DeviceSecret;
  try {
    device = deviceSecret(opts.passcode);
  } catch (err) {
    if (err instanceof SecretUnreadable) return finish({ outcome: 'secret-unreadable', flow: requested, message: err.message });
    throw err;
  }
  secrets.push(device.secret);
  const kid = device.kid !== undefined ? { kid: device.kid } : {};

  const accepted = opts.acceptedSteps ?? processAcceptedSteps;
  const stepKey = acceptedStepKey(gatewayUrl, opts.user);
  let sentStep: number | undefined;
  const inputs: LogonInputs = {
    user: opts.user,
    password: opts.password,
    passcode: async () => {
      const fresh = await freshCode(device, clock, accepted, stepKey, opts.minSecondsLeft ?? 5, (n) => opts.onNote?.(n));
      secrets.push(fresh.code);
      sentStep = fresh.step;
      totpWaitMs += fresh.waitedMs;
      return fresh.code;
    },
  };

  const session = new GatewaySession(gatewayUrl, opts.tls, opts.timeoutMs);
  try {
    let verdict: FlowVerdict;
    const current = { flow: requested };
    try {
      verdict = await runFlow(session, inputs, current, opts.onNote);
    } catch (err) {
      if (err instanceof GatewayFailure) return finish({ outcome: err.outcome, flow: current.flow, message: err.message, ...kid }, session.warnings);
      throw err;
    }
    if (verdict.outcome !== 'ok') return finish({ outcome: verdict.outcome, flow: verdict.flow, message: verdict.message, ...kid }, session.warnings);
    if (sentStep !== undefined) accepted.set(stepKey, sentStep);
    const loggedOff = await logOff(session);
    const warnings = loggedOff ? session.warnings : [...session.warnings, `${gatewayUrl}: the log-off failed; the canary's session stays until it times out`];
    const message = `user ${opts.user} ${verdict.message} and ${loggedOff ? 'logged off again' : 'could not be logged off'}`;
    return finish({ outcome: 'ok', flow: verdict.flow, message, loggedOff, ...kid }, warnings);
  } finally {
    session.close();
  }
}

/**
 * Runs the chosen flow; `current.flow` tells a failure which flow it happened in. The logon page
 * decides first: a redirect to /logon/LogonPoint/… is an nFactor virtual server, whatever was
 * asked. Otherwise auto tries nFactor and falls back to the classic page only when the gateway
 * has no nFactor endpoint at all (nothing was posted then).
 */
async function runFlow(session: GatewaySession, inputs: LogonInputs, current: { flow: FlowChoice }, onNote?: (n: string) => void): Promise<FlowVerdict> {
  const requested = current.flow;
  const start = await openLogonPage(session);
  if (requested === 'classic') return classicLogon(session, inputs, start);
  current.flow = 'nfactor';
  try {
    return await nfactorLogon(session, inputs);
  } catch (err) {
    if (!(err instanceof NoNfactorEndpoint)) throw err;
    if (requested === 'nfactor' || start.logonPoint) {
      const hint = start.logonPoint ? ` although the logon page redirects to ${start.path.split('?')[0]}` : '; try the classic flow';
      throw new GatewayFailure('unexpected-page', `${err.message}${hint}`);
    }
    onNote?.(`${err.message}; using the classic logon page`);
    current.flow = 'classic';
    return classicLogon(session, inputs, start);
  }
}

async function logOff(session: GatewaySession): Promise<boolean> {
  if (!session.jar.has(SESSION_COOKIE)) return true;
  try {
    const res = await session.get(LOGOFF_PATH);
    return res.status < 400;
  } catch {
    return false;
  }
}

function validateUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`logon check: "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InputError(`logon check: the gateway URL must be http(s), not ${parsed.protocol}`);
  }
  return url.replace(/\/+$/, '');
}

/** A gateway can echo what it was sent; nothing secret leaves the check, whatever the gateway says. */
function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
