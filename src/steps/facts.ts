// What preflight learns from live state and later steps build on. Rebuilt on every run and
// resume (preflight re-runs), never trusted from a journal: the appliances are the truth.
import type { CensusResult } from '../directory/index.js';
import type { PlaybookParams } from '../playbook/playbook.js';
import type { Estate } from './estate.js';

export interface ApplianceFacts {
  /** Certkey holding the old certificate (bound as userDataEncryptionKey before the run). */
  oldCertkey?: string;
  /** Certkey holding the new certificate, when one exists already (adopted, not created). */
  newCertkey?: string;
  bound: string[];
  /** Keys this run unbound on it (the old one, before a swap); known only to the process that did it. */
  unboundByRun?: string[];
  capability: 'multi' | 'single' | 'unknown';
  systemType: string;
  haRole?: string;
  otpEncryption?: string;
  /** Firmware as nsversion reports it ("14.1-25.56"); for the plan and report only. */
  firmwareVersion?: string;
  /** Why the version is not known (nsversion refused or unreadable). */
  firmwareVersionUnknown?: string;
}

export interface RunFacts {
  appliances: Map<string, ApplianceFacts>;
  census?: CensusResult;
  /** Appliances that failed within the failure budget; later steps leave them alone. */
  excluded: Set<string>;
  /**
   * Set by a rollback that found a write of this run may still land and take the old key away
   * (an unbind that got no reply and never showed). The only state safe whichever way it goes
   * is the new key bound everywhere with every device under it, so the rest of the rollback
   * keeps that: the directory stays under the new certificate and the new key stays bound.
   */
  keepNewKey: { appliance: string; why: string }[];
  /**
   * When this process last unbound a key a gateway may have been encrypting registrations under:
   * one already under way then can still write under it for a moment (the gateway picked the key
   * before the unbind), so the final check waits that moment out first (safety-check.ts).
   */
  keyUnboundAt?: number;
}

/** Everything a step needs: the estate, the playbook parameters, the shared facts. */
export interface StepDeps<W extends object = object> {
  estate: Estate;
  params: PlaybookParams;
  facts: RunFacts;
  /** Options the playbook gives this step (`with:`), validated for its kind. */
  with: W;
}

export function newFacts(): RunFacts {
  return { appliances: new Map(), excluded: new Set(), keepNewKey: [] };
}

/** The certkey name the new certificate gets: chosen, from the inventory, or from its validity. */
export function newCertkeyName(deps: StepDeps): string {
  const km = deps.estate.certs.new.km;
  return deps.params.newCertkey ?? deps.estate.certs.new.spec.certkey ?? `otp-enc-${km.notBefore.toISOString().slice(0, 10).replace(/-/g, '')}-${km.sha1Hex.slice(0, 6)}`;
}
