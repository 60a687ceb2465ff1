// The logon check's contract with its callers (the CLI command and the playbook step).
import type { Keyring } from '../otp/index.js';

export type LogonFlow = 'nfactor' | 'classic';
export type FlowChoice = LogonFlow | 'auto';

export type LogonOutcome =
  | 'ok'
  | 'wrong-password'
  | 'wrong-passcode'
  | 'user-locked'
  | 'unreachable'
  | 'tls-failure'
  | 'unexpected-page'
  /** The factor after the password is a push approval only: no passcode could be offered. */
  | 'push-only'
  /**
   * Classic logon answered NSC_VPNERR 4001: wrong credentials, or (builds since 13.1-63) a
   * logon POST whose Origin the gateway refused. The gateway does not say which.
   */
  | 'refused-4001'
  /** The directory value cannot be read with the keys that should be in force: no passcode to send. */
  | 'secret-unreadable';

export interface GatewayTlsOptions {
  /** PEM bundle of the CA(s) that issued the gateway certificate. */
  caPem?: string;
  /** SHA-256 of the gateway's leaf certificate (hex; colons, case and a "sha256:" prefix ignored). */
  fingerprintSha256?: string;
  /** Name to verify the certificate against when the URL holds an IP address or an alias. */
  servername?: string;
  /** Skip verification. Only when configured; the result carries a warning. */
  insecure?: boolean;
}

/** Where the canary's passcode comes from. */
export type PasscodeSource =
  /** A Base32 TOTP secret the caller resolved from a secret reference. */
  | { kind: 'secret'; secret: string; alg?: string }
  /**
   * The user's raw directory attribute value and the keys that should now be in force; reading it
   * proves the directory value is right before the gateway is asked.
   */
  | { kind: 'directory'; value: string; keyring: Keyring; device?: string };

/** Time as the check sees it; injected by tests so no test waits for a real 30-second step. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface LogonCheckOptions {
  /** Base URL of the gateway virtual server, e.g. https://gw.example.com */
  gatewayUrl: string;
  user: string;
  password: string;
  passcode: PasscodeSource;
  flow?: FlowChoice;
  tls?: GatewayTlsOptions;
  /** Per request, default 15 s. */
  timeoutMs?: number;
  /** Wait for the next step when fewer seconds than this remain in the current one (default 5). */
  minSecondsLeft?: number;
  clock?: Clock;
  /** Which steps were already accepted; defaults to one memory for the whole process. */
  acceptedSteps?: AcceptedSteps;
  /** Progress notes for the operator (never carries a secret). */
  onNote?: (note: string) => void;
}

export interface LogonResult {
  outcome: LogonOutcome;
  gatewayUrl: string;
  /** The flow that was used; the requested choice when the gateway was never reached. */
  flow: FlowChoice;
  durationMs: number;
  /** Of durationMs, the time spent waiting for a TOTP step whose code the gateway has not accepted yet. */
  totpWaitMs: number;
  /** One plain sentence for the operator; never holds the password, the passcode or the secret. */
  message: string;
  /** KID of the device whose code was sent, when it came from an encrypted directory value. */
  kid?: string;
  /** After a successful logon: whether the session was closed again. */
  loggedOff?: boolean;
  warnings: string[];
}

/** Remembers the newest TOTP step a gateway accepted per user, so a code is never sent twice. */
export interface AcceptedSteps {
  get(key: string): number | undefined;
  set(key: string, step: number): void;
}
