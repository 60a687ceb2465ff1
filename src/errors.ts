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

/**
 * The codes a failure carries, as fields (the report explains them in plain words): NITRO
 * errorcodes, LDAP results, and the network errors under which a write's outcome is unknown.
 */
export interface ErrorCodes {
  nitro?: number[];
  ldap?: { code: number; name: string }[];
  /** The directory could not be reached at all. */
  directoryUnavailable?: boolean;
  /** Node's system error codes of a failed connection (ETIMEDOUT, ECONNRESET, …), and HTTP_TIMEOUT_CODE. */
  network?: string[];
}

/**
 * The code of an HTTP call that got no complete reply within its timeout (src/http/request.ts).
 * Not one of Node's: a socket's own ETIMEDOUT (the kernel gave up connecting) must stay
 * distinguishable from our deadline, which may have expired after the request was sent.
 */
export const HTTP_TIMEOUT_CODE = 'ERR_ADC_HTTP_TIMEOUT';

export class AdcError extends Error {
  readonly exitCode: ExitCode;
  private readonly givenCodes: ErrorCodes | undefined;
  /** `codes`: those of the failures this error sums up (several entries, several appliances). */
  constructor(message: string, exitCode: ExitCode = EXIT.failedRolledBack, options?: { cause?: unknown; codes?: ErrorCodes | undefined }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.givenCodes = options?.codes;
  }

  /** The codes this error itself carries (subclasses add theirs; the cause chain adds the rest). */
  ownCodes(): ErrorCodes {
    return this.givenCodes ?? {};
  }
}

const NETWORK_CODES = new Set(['ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', HTTP_TIMEOUT_CODE]);

/** Several failures' codes as one (undefined when none has any). */
export function mergeCodes(list: readonly (ErrorCodes | undefined)[]): ErrorCodes | undefined {
  const all = list.filter((c): c is ErrorCodes => c !== undefined);
  if (all.length === 0) return undefined;
  const nitro = [...new Set(all.flatMap((c) => c.nitro ?? []))];
  const ldap = all.flatMap((c) => c.ldap ?? []).filter((l, i, xs) => xs.findIndex((x) => x.code === l.code) === i);
  const network = [...new Set(all.flatMap((c) => c.network ?? []))];
  const codes: ErrorCodes = {
    ...(nitro.length ? { nitro } : {}),
    ...(ldap.length ? { ldap } : {}),
    ...(all.some((c) => c.directoryUnavailable) ? { directoryUnavailable: true } : {}),
    ...(network.length ? { network } : {}),
  };
  return Object.keys(codes).length ? codes : undefined;
}

/** Every code along an error's cause chain, merged; undefined when there is none. */
export function errorCodes(err: unknown): ErrorCodes | undefined {
  const found: ErrorCodes[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof AdcError) found.push(e.ownCodes());
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) found.push({ network: [code] });
  }
  return mergeCodes(found);
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
