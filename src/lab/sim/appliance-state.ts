// The state one simulated appliance (node) holds. In an HA pair the two nodes share one
// SharedConfig, because configuration commands propagate from the primary to the secondary at
// once; each node keeps its own files, sessions and faults.
import type { X509Certificate } from 'node:crypto';
import type { Inform } from './certkey-parse.js';
import { FileStore } from './file-store.js';
import { SessionStore } from './sessions.js';
import { FaultTable } from './faults.js';
import type { SimApplianceConfig, SimGatewayOptions, SimLdapAction } from './types.js';
import { gatewayOptions } from './gateway/options.js';
import { firmwareProfile, type FirmwareProfile } from './profiles.js';

export interface CertKeyRecord {
  certkey: string;
  cert: string;
  key?: string;
  inform: Inform;
  /** Needed again whenever the key is re-read (gateway decryption); never returned by GET. */
  passphrase?: string;
  x509: X509Certificate;
  expirymonitor: 'ENABLED' | 'DISABLED';
  notificationperiod?: number;
  /** The CA certkey `link ssl certKey` named. */
  linkcertkeyname?: string;
}

export type BindingKind = 'userdataencryptionkey' | 'certkeyname' | 'cacert';

export interface BindingRecord {
  kind: BindingKind;
  certkey: string;
}

export class SharedConfig {
  readonly certkeys = new Map<string, CertKeyRecord>();
  /** In bind order: the last userdataencryptionkey is the one registrations use. */
  bindings: BindingRecord[] = [];
  otp = { encryption: 'OFF' as 'ON' | 'OFF', maxotpdevices: 4 };
  /** `authenticationldapaction`, set at start (the lab does not change them over NITRO). */
  ldapActions: SimLdapAction[] = [];
  configChanged = false;
  lastChange = new Date();
  lastSave = new Date();
  /** Last accepted TOTP step per user and device: the gateway refuses a code used before. */
  readonly usedOtpSteps = new Map<string, number>();

  touch(): void {
    this.configChanged = true;
    this.lastChange = new Date();
  }

  save(): void {
    this.configChanged = false;
    this.lastSave = new Date();
  }

  userDataKeys(): string[] {
    return this.bindings.filter((b) => b.kind === 'userdataencryptionkey').map((b) => b.certkey);
  }
}

export type NodeRole = 'primary' | 'secondary' | 'standalone';

export interface GatewayEvent {
  at: string;
  user: string;
  flow: 'nfactor' | 'classic' | 'register';
  ok: boolean;
  /** Why it failed, for test assertions; never contains a secret or a code. */
  reason?: string;
}

export class SimNode {
  readonly name: string;
  /** userDataEncryptionKey bindings: several, or one at a time (from the profile). */
  readonly firmware: 'multi' | 'single';
  readonly profile: FirmwareProfile;
  /** `hanode` settings of this node (hastatus, hasync): what `set ha node` changes. */
  haSettings: { hastatus: string; hasync: string } = { hastatus: 'ENABLED', hasync: 'ENABLED' };
  readonly username: string;
  readonly password: string;
  /** A made-up NSIP (TEST-NET-1): the node's own address as NITRO reports it. */
  readonly ip: string;
  role: NodeRole;
  peer?: SimNode;
  config: SharedConfig;
  readonly files = new FileStore();
  readonly sessions: SessionStore;
  readonly faults = new FaultTable();
  readonly gatewayLog: GatewayEvent[] = [];
  /** nFactor policy: user name, password and passcode in one form, or the passcode as a second factor. */
  otpFactor: 'combined' | 'separate' = 'combined';
  /** The gateway virtual server's behaviour (see SimGatewayOptions). */
  gateway: SimGatewayOptions;
  /** Every POST that carried a credential to the gateway: path and the (non-empty) field names, never values. */
  readonly gatewayPosts: { path: string; fields: string[] }[] = [];

  constructor(cfg: SimApplianceConfig, index: number, sessionTimeoutSec: number) {
    this.profile = firmwareProfile(cfg.profile ?? cfg.firmware);
    try {
      // The firmware profile sets the classic Origin rule; the appliance's own gateway options win.
      this.gateway = gatewayOptions({ classicRequiresOrigin: this.profile.classicRequiresOrigin, ...(cfg.gateway ?? {}) });
    } catch (err) {
      throw new Error(`appliance ${cfg.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.name = cfg.name;
    this.firmware = this.profile.userDataKeys;
    this.username = cfg.username;
    this.password = cfg.password;
    this.ip = `192.0.2.${10 + index}`;
    this.role = cfg.ha ? cfg.ha.role : 'standalone';
    this.config = new SharedConfig();
    this.sessions = new SessionStore(sessionTimeoutSec);
  }

  /** The node that currently owns the configuration and the gateway VIP. */
  primary(): SimNode {
    return this.role === 'secondary' && this.peer ? this.peer : this;
  }

  logGateway(ev: Omit<GatewayEvent, 'at'>): void {
    this.gatewayLog.push({ at: new Date().toISOString(), ...ev });
    if (this.gatewayLog.length > 500) this.gatewayLog.shift();
  }
}
