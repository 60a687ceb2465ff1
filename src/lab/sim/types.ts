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
  /** How this appliance's gateway virtual server behaves; the defaults are the lab's usual gateway. */
  gateway?: SimGatewayOptions;
  /**
   * `add authentication ldapAction …` on this appliance (NITRO authenticationldapaction). The
   * gateway logs users on and reads their OTP secret through the first action that names an
   * OTP attribute. Absent: one action made from the simulator's `directory`.
   */
  ldapActions?: SimLdapAction[];
}

/** One LDAP action as configured; `bindPassword` is write-only on an appliance (never in a GET). */
export interface SimLdapAction {
  name: string;
  /** serverip (an address) or servername (an FQDN): one of the two, as on the appliance. */
  serverip?: string;
  servername?: string;
  serverport: number;
  sectype: 'PLAINTEXT' | 'TLS' | 'SSL';
  ldapbase: string;
  ldapbinddn: string;
  bindPassword: string;
  ldaploginname: string;
  searchfilter?: string;
  /** The attribute OTP secrets are kept in (`-OTPSecret`); absent on an action used for passwords only. */
  otpsecret?: string;
  /** Seconds the gateway waits for the LDAP server (`-authTimeout`); the appliance's default is 3. */
  authtimeout?: number;
}

/**
 * Gateway behaviours real appliances show, to be switched on per appliance (and at run time
 * through PUT /__lab/gateway). docs/fidelity.md says which ones rest on a public source.
 */
export interface SimGatewayOptions {
  /**
   * 'both' (default, a lab convenience): the classic page at /vpn/index.html and the nFactor
   * endpoints; 'nfactor': an RfWebUI virtual server, whose /vpn/index.html (and /cgi/login)
   * redirect to /logon/LogonPoint/tmindex.html; 'classic': no nFactor endpoints.
   */
  theme?: 'both' | 'nfactor' | 'classic';
  /** Prefixes the nFactor exchange is served under; default both. */
  nfactorPaths?: ('/nf/auth/' | '/p/u/')[];
  /**
   * Builds since 13.1-63: POST /cgi/login without an Origin of this gateway, or without the
   * logon page's cookies, is answered 302 to /vpn/index.html with NSC_VPNERR=4001. Default off.
   */
  classicRequiresOrigin?: boolean;
  /** How a failed nFactor round is shown: a label of type error (default), nsg-l20n-error, or an nsg-auth-failure row. */
  errorStyle?: 'error' | 'nsg-l20n-error' | 'nsg-auth-failure';
  /** After the last factor, a more-info round asking for the client choice (nsg-setclient) at /p/u/setClient.do. */
  setClientStep?: boolean;
  /** An endpoint analysis scan (nsg-epa): before the logon form, or after a good logon (session cookie already set). */
  epa?: 'off' | 'before' | 'after';
  /** The second factor is a push approval (nsg_push, nf-poll) instead of a passcode. */
  pushOnly?: boolean;
  /** A requirement of this credential type added to the first form (a schema the client does not know). */
  extraRequirementType?: string;
  /** A label of this type added to the first form. */
  extraLabelType?: string;
}

export interface SimDirectoryConfig {
  url: string;
  caPem?: string;
  baseDN: string;
  bindDN: string;
  bindPassword: string;
  attribute: string;
  userNameAttribute: string;
  /** The action's search filter, combined with the login-name match as the appliance does. */
  searchFilter?: string;
  /** How long the gateway waits for each LDAP answer (the action's authtimeout). */
  timeoutMs?: number;
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
  /** Delaying TCP relays between a replica slapd and its provider (src/lab/sim/relay.ts). */
  relays?: { port: number; targetPort: number; delayMs: number }[];
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
  /**
   * Let this many matching requests through untouched before the fault starts to count: aims a
   * fault at, say, the second `POST systemfile` of a run (the certificate upload) and not the
   * first (the run's lock file). Default 0.
   */
  skip?: number;
}
