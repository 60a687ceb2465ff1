// The simulator's public contract: the lab launcher, the CLI and the tests build against it.

export interface SimApplianceConfig {
  name: string;
  /** 'multi': several userDataEncryptionKey bindings allowed (current docs); 'single': one at a time (older builds). */
  firmware: 'multi' | 'single';
  /**
   * A firmware profile (profiles.ts) by name: binding behaviour, binding row shape, nsversion,
   * the classic Origin rule, the secondary's write refusal. Default: the profile named by `firmware`.
   */
  profile?: string;
  ha?: { peer: string; role: 'primary' | 'secondary' };
  username: string;
  password: string;
  preload?: {
    files?: { name: string; content: string }[];
    certkeys?: { certkey: string; cert: string; key: string }[];
    userDataEncryptionKeys?: string[];
    otpEncryption?: 'ON' | 'OFF';
  };
}

export interface SimDirectoryConfig {
  url: string;
  caPem?: string;
  baseDN: string;
  bindDN: string;
  bindPassword: string;
  attribute: string;
  userNameAttribute: string;
}

export interface SimulatorConfig {
  appliances: SimApplianceConfig[];
  tls: { certPem: string; keyPem: string };
  directory?: SimDirectoryConfig;
  /** Lab control endpoint (faults, failover, state); off by default. */
  control?: boolean;
  /** NITRO idle timeout in seconds, default 1800. */
  sessionTimeoutSec?: number;
  /** Automatic /nsconfig/ssl copy to the HA secondary, default 60000 ms. */
  haFileSyncDelayMs?: number;
}

export interface RunningAppliance {
  name: string;
  /** http://127.0.0.1:PORT (NITRO lives under /nitro/v1). */
  nitroUrl: string;
  nitroHttpsUrl: string;
  gatewayUrl: string;
  gatewayHttpUrl: string;
  /** http://127.0.0.1:PORT/__lab when control is on. */
  controlUrl?: string;
}

export interface RunningSimulator {
  appliances: RunningAppliance[];
  stop(): Promise<void>;
}

export interface FaultSpec {
  /** "METHOD resource[/name][?action=verb]", e.g. "POST nsconfig?action=save". */
  on: string;
  errorcode?: number;
  /** Close the connection without a reply; a write is applied first (outcome unknown to the client). */
  drop?: boolean;
  delayMs?: number;
  /**
   * Hold the write without a reply and apply it only after a later request matching this rule
   * ("METHOD resource…", same form as `on`) has been served: a slow appliance finishing a write
   * after the client gave up, at a moment the test chooses rather than after a fixed delay.
   */
  holdUntil?: string;
  /**
   * Answer a matching GET with errorcode 0 and these fields (e.g. a binding row of a shape no
   * source documents), to rehearse what the client does with a reply it does not understand.
   */
  reply?: Record<string, unknown>;
  /** How many matching requests the fault affects; default 1. */
  times?: number;
}
