// What a step records of what it found, as JSON: an appliance's facts and a directory census.
// A module of their own because the plan shows appliance facts too and two steps (preflight, the
// re-encryption) record a census: none of them should need to import preflight for the shape.
import type { CensusResult } from '../directory/index.js';
import type { JsonObject } from '../runner/json.js';
import type { ApplianceHandle } from './estate.js';
import type { ApplianceFacts } from './facts.js';

export function applianceFactsJson(a: ApplianceHandle, f: ApplianceFacts): JsonObject {
  return {
    mode: a.target?.mode ?? 'standalone',
    primary: a.target?.primaryUrl ?? '',
    bound: f.bound,
    oldCertkey: f.oldCertkey ?? null,
    newCertkey: f.newCertkey ?? null,
    otpEncryption: f.otpEncryption ?? null,
    haSync: a.target?.peerSync ?? null,
    // For the plan: an HA pair is one target; say which node takes the writes and which is read back.
    secondary: a.target?.secondaryUrl ?? null,
    peerState: a.target?.peerState ?? null,
    // 'unknown' until the overlap bind probes it (a read cannot tell), unless two are bound already.
    capability: f.capability,
    // From nsversion: shown, never decided on (the bind itself tells how many keys it holds).
    firmwareVersion: f.firmwareVersion ?? null,
  };
}

export function censusJson(c: CensusResult): JsonObject {
  return {
    entries: c.entries,
    withValue: c.withValue,
    empty: c.empty,
    legacy: c.legacy,
    encrypted: c.encrypted,
    multiValued: c.multiValued.entries,
    unreadable: c.unreadable.entries,
    byKid: c.byKid.map((k) => ({ kid: k.kid, label: k.label ?? null, held: k.held, devices: k.devices, entries: k.entries })),
    extraAttributes: c.extraAttributes.map((e) => ({ attribute: e.attribute, entries: e.entries, note: e.note })),
  };
}
