// The check the runner makes before it reports (src/runner/runner.ts checkedEnd): the no-lockout
// invariant read live, put right where the tool can do so safely. Devices under one of our
// certificates that some appliance cannot read are moved to the other certificate when every
// appliance still in the run holds that one — enrolments racing a rollback's last unbind end
// up there — and the invariant is judged again. What cannot be put right is reported: who, and
// which key (exit 3).
import { DEFAULT_AUTH_TIMEOUT_SEC } from '../nitro/index.js';
import type { SafetyVerdict, StepContext } from '../runner/step.js';
import type { StepDeps } from './facts.js';
import { boundKeys, checkInvariant, type InvariantVerdict, type Which } from './invariant.js';
import { moveDevices } from './sweep.js';

/**
 * How long a registration the gateway had begun before a key was unbound may still write under
 * that key. A registration is one request: the gateway picks the newest bound key, encrypts, and
 * writes the directory through its LDAP action, waiting at most the action's `authtimeout` for
 * the server's answer. So the wait is the longest authtimeout among the actions that keep OTP
 * secrets (an inference from what the field means: no public source describes the registration
 * path), and the appliance's default, 3 s, when the actions cannot be read.
 */
export async function registrationDrainMs(deps: StepDeps): Promise<number> {
  try {
    const all = await deps.estate.ldapActions();
    const read = all.filter((a) => !a.error);
    const otp = read.flatMap((a) => a.actions).filter((x) => x.otpSecret);
    if (read.length < all.length || otp.length === 0) return DEFAULT_AUTH_TIMEOUT_SEC * 1000;
    return Math.max(...otp.map((x) => x.authTimeoutSec)) * 1000;
  } catch {
    return DEFAULT_AUTH_TIMEOUT_SEC * 1000;
  }
}

export async function safetyCheck(deps: StepDeps, ctx: StepContext): Promise<SafetyVerdict> {
  const drain = deps.facts.keyUnboundAt === undefined ? 0 : deps.facts.keyUnboundAt + (await registrationDrainMs(deps)) - Date.now();
  if (drain > 0) await new Promise((r) => setTimeout(r, drain));
  let v = await checkInvariant(deps);
  const from = repairable(v);
  if (from) {
    const to: Which = from === 'old' ? 'new' : 'old';
    const inRun = deps.estate.appliances.filter((a) => !deps.facts.excluded.has(a.name));
    const bound = await Promise.all(inRun.map((a) => boundKeys(deps.estate, a)));
    if (bound.every((b) => b.holds.has(to))) {
      const m = await moveDevices(deps, ctx, from, to, `${v.message}. Every appliance in the run holds the ${to} certificate`);
      ctx.note('directory', m.message, m.failed.length ? 'warn' : 'info');
      v = await checkInvariant(deps);
    }
  }
  return verdict(v);
}

/** The certificate whose devices some appliance in the run cannot read, when there is one such. */
function repairable(v: InvariantVerdict): Which | undefined {
  if (v.holds || v.unread.length) return undefined;
  const from = [...new Set(v.lockedOut.filter((l) => !l.leftOut).map((l) => l.certificate))];
  return from.length === 1 ? from[0] : undefined;
}

function verdict(v: InvariantVerdict): SafetyVerdict {
  return { holds: v.holds, leftOutOnly: !v.holds && v.unread.length === 0 && v.lockedOut.every((l) => l.leftOut), message: v.message };
}
