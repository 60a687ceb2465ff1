// What a flow needs from the check and gives back to it.
import type { LogonFlow } from './types.js';
import type { Verdict } from './verdicts.js';

export interface LogonInputs {
  user: string;
  /** Secret: never log it. */
  password: string;
  /** Computes the passcode at the moment it is needed (it may wait for a fresh step). */
  passcode(): Promise<string>;
}

export interface FlowVerdict extends Verdict {
  flow: LogonFlow;
}

/** The gateway has no nFactor endpoint: in auto mode, the classic flow is tried instead. */
export class NoNfactorEndpoint extends Error {}
