// Whether a run proves that users can still log on. Only a real logon of the canary through the
// gateways shows that the directory values and the bound keys agree; without a canary the
// logon-check steps are skipped, and a run that changes the userDataEncryptionKey bindings could
// end "succeeded" with nobody able to log on. So such a run needs the operator to say, with
// --no-logon-check, that they go on without that proof — and the plan says what is not proven.
import { InputError } from '../errors.js';
import type { Step } from '../runner/step.js';
import type { Estate } from '../steps/estate.js';

/** Step kinds that add or remove a userDataEncryptionKey binding. */
const BINDING_KINDS: readonly string[] = ['bind-new-key', 'unbind-old-key'];

/** The journal's run params carry the choice, so resume keeps it (it is not a playbook param). */
export const NO_LOGON_CHECK_PARAM = 'noLogonCheck';

/** What no logon will prove in this run, in plain words; undefined when the canary proves it. */
export function unprovenLogon(steps: Step[], estate: Estate): string | undefined {
  if (estate.canary) return undefined;
  const changing = steps.filter((s) => BINDING_KINDS.includes(s.kind)).map((s) => s.id);
  if (!changing.length) return undefined;
  return `no logon is proven: the inventory ${estate.inventory.file} has no canary user, so the logon checks are skipped and nothing shows that users can still log on after ${changing.join(', ')} change the userDataEncryptionKey bindings`;
}

/** Refuses (exit 2, before any change) a run that would change bindings unproven, unless the operator chose to. */
export function requireLogonProof(steps: Step[], estate: Estate, noLogonCheck: boolean): void {
  const gap = unprovenLogon(steps, estate);
  if (!gap || noLogonCheck) return;
  throw new InputError(`${gap}. Nothing was changed: add a canary (user, password, totpSecret) to the inventory, or run with --no-logon-check to go on without that proof`);
}

/** The plan's statement: what is not proven, and whether the operator has accepted that. */
export function logonProofWarning(steps: Step[], estate: Estate, noLogonCheck: boolean): string | undefined {
  const gap = unprovenLogon(steps, estate);
  if (!gap) return undefined;
  return noLogonCheck ? `${gap} (accepted with --no-logon-check)` : `${gap}; a run needs --no-logon-check to go on without that proof`;
}

/**
 * The plan's line on the canary pool: how many logon checks each gateway sees in this run and how
 * many of them the pool covers in one 30-s TOTP step without waiting. Undefined without checks.
 */
export function canaryPoolWords(steps: Step[], estate: Estate): string | undefined {
  const checks = steps.filter((s) => s.kind === 'logon-check').length;
  const pool = estate.canaries;
  if (checks === 0 || pool.length === 0) return undefined;
  const names = pool.map((c) => c.user).join(', ');
  return `${checks} logon check(s) per gateway; the canary pool (${pool.length}: ${names}) covers ${pool.length} check(s) per gateway in one 30-s TOTP step without waiting, a further one in the same step waits for the next`;
}
