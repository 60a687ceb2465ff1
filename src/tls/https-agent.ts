// How a client trusts an appliance's HTTPS endpoint: the NITRO client on the NSIP and the logon
// check on a gateway both use this, so a pin or a CA is checked the same way on either. Appliances
// usually carry a self-signed or private-CA certificate, so we support a CA bundle, a pinned
// SHA-256 fingerprint, or both; turning verification off must be explicit and leaves a warning
// behind for the plan and the report.
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

export interface TlsTrustOptions {
  /** PEM bundle of the CA(s) that issued the appliance certificate. */
  caPem?: string;
  /** SHA-256 of the appliance's leaf certificate (hex, colons and case ignored). */
  fingerprintSha256?: string;
  /** Name to verify the certificate against when the URL holds an IP or an alias. */
  servername?: string;
  /** Skip all verification. Only when the inventory says so; always reported. */
  insecure?: boolean;
}

export function normalizeFingerprint(fp: string): string {
  return fp
    .replace(/^sha256:/i, '')
    .replace(/[:\s]/g, '')
    .toLowerCase();
}

export class TlsPinError extends Error {
  readonly code = 'ERR_ADC_FINGERPRINT_MISMATCH';
}

/**
 * Codes Node gives a connection the appliance's certificate failed on: OpenSSL's verification
 * results (a chain that does not verify, dates, a wrong name) and the alerts a TLS peer sends
 * about a certificate. Errors are told by code, which Node keeps stable, never by their words.
 */
const TLS_VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_ADC_FINGERPRINT_MISMATCH',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
]);

/** A connection refused because the appliance's certificate failed verification or the pin (anywhere in the cause chain). */
export function isTlsVerificationError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof TlsPinError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_VERIFY_CODES.has(code)) return true;
  }
  return false;
}

/**
 * An https.Agent that checks the pinned fingerprint after the handshake and before the socket
 * is handed to the HTTP layer, so not one request byte (credentials!) reaches an impostor.
 * Node only runs `checkServerIdentity` when the chain already verified, which a self-signed
 * appliance certificate never does, hence the check here instead.
 */
class PinningAgent extends https.Agent {
  constructor(
    opts: https.AgentOptions,
    private readonly pin: string | undefined,
  ) {
    super(opts);
  }

  override createConnection(options: tls.ConnectionOptions, callback?: (err: Error | null, socket: Duplex) => void): Duplex | undefined {
    const socket = tls.connect(options);
    const pin = this.pin;
    if (!pin || !callback) return socket;
    const onError = (err: Error): void => callback(err, socket);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.removeListener('error', onError);
      const cert = socket.getPeerCertificate();
      const actual = cert?.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : '';
      if (actual !== pin) {
        const err = new TlsPinError(`certificate fingerprint mismatch: expected SHA-256 ${pin}, the server presented ${actual || 'no certificate'}`);
        socket.destroy();
        callback(err, socket);
        return;
      }
      callback(null, socket);
    });
    return undefined;
  }
}

export interface AgentAndWarnings {
  agent: https.Agent;
  warnings: string[];
}

/**
 * The agent, and the warnings the NITRO client passes on (their words are about NITRO
 * credentials; the logon check says its own about the canary's).
 */
export function buildHttpsAgent(applianceName: string, opts: TlsTrustOptions): AgentAndWarnings {
  const warnings: string[] = [];
  const pin = opts.fingerprintSha256 ? normalizeFingerprint(opts.fingerprintSha256) : undefined;
  if (pin !== undefined && !/^[0-9a-f]{64}$/.test(pin)) {
    throw new Error(`${applianceName}: the pinned fingerprint is not a SHA-256 (64 hex digits)`);
  }
  if (opts.insecure) {
    warnings.push(`${applianceName}: TLS certificate verification is OFF (insecure: true in the inventory); anyone on the path can read the NITRO credentials`);
  }
  const agentOpts: https.AgentOptions = {
    keepAlive: true,
    // Without a CA the chain cannot verify; the pin (or `insecure`) is what decides.
    rejectUnauthorized: opts.insecure ? false : pin !== undefined ? Boolean(opts.caPem) : true,
    // A resumed session may not present the certificate again; the pin must see it every time.
    maxCachedSessions: 0,
  };
  if (opts.caPem) agentOpts.ca = opts.caPem;
  if (opts.servername) agentOpts.servername = opts.servername;
  return { agent: new PinningAgent(agentOpts, opts.insecure ? undefined : pin), warnings };
}
