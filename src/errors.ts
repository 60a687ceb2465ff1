// A leaf module every layer may import (state-home.ts is the other): typed errors that carry the exit code
// docs/cli.md lists and the thing at fault, so the CLI never has to parse messages.

export const EXIT = {
  ok: 0,
  failedRolledBack: 1,
  invalidInput: 2,
  rollbackIncomplete: 3,
  /** Done, with appliances left out within the failure budget: users moved cannot log on through them. */
  doneWithLeftOut: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class AdcError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = EXIT.failedRolledBack, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad input from the user (file, flag, value, certificate): exit 2, nothing changed. */
export class InputError extends AdcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.invalidInput, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
