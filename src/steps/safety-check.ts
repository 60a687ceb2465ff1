// The check the runner makes before it reports (src/runner/runner.ts checkedEnd): the no-lockout
// invariant read live, put right where the tool can do so safely. Devices under one of our
// certificates that some appliance cannot read are moved to the other certificate when every
// appliance still in the run holds that one — enrolments racing a rollback's last unbind end
// up there — and the invariant is judged again. What cannot be put right is reported: who, and
// which key (exit 3).
import type { SafetyVerdict, StepContext } from '../runner/step.js';
import type { StepDeps } from './facts.js';
import { boundKeys, checkInvariant, type InvariantVerdict, type Which } from './invariant.js';
import { moveDevices } from './sweep.js';

/**
 * How long a registration the gateway had begun before a key was unbound may still write under
 * that key. A registration is one request: the gateway picks the newest bound key, encrypts and
 * writes the directory; in the lab it takes well under a second (inference for real gateways:
 * the same work, one LDAP modify).
 */
export const REGISTRATION_DRAIN_MS = 3000;

export async function safetyCheck(deps: StepDeps, ctx: StepContext): Promise<SafetyVerdict> {
  const drain = (deps.facts.keyUnboundAt ?? 0) + REGISTRATION_DRAIN_MS - Date.now();
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
