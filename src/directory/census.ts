// What the OTP attribute holds across the directory, before anything changes: the numbers the
// plan shows and preflight refuses on (values nobody can read, multi-valued attributes), and
// which certificate each device needs. Reads only; never decrypts more than it must to count.
import { decryptDevice, parseAttribute, toB64Url, type Keyring } from '../otp/index.js';
import { errorMessage } from '../errors.js';
import type { DirectoryClient } from './connect.js';
import { CHANGE_STAMP_ATTRIBUTE, foldStamp, type StampVector } from './change-stamps.js';
import { scanFilter, scanPages } from './scan.js';

export interface CensusOptions {
  base: string;
  filter?: string;
  attribute: string;
  pageSize?: number;
  /** Certificates we hold: devices under them are test-decrypted, and a failure counts as unreadable. */
  keyring?: Keyring;
  /** Names for KIDs (KID text → e.g. the certkey name on the ADC). */
  kidLabels?: Record<string, string>;
  /** Other attributes encrypted with the same certificate (KBA answers, alternate e-mail) to count. */
  extraAttributes?: string[];
  /** How many example DNs to keep per problem (default 20). */
  examples?: number;
  /** Keep up to this many DNs per KID (default 0): who a missing key would lock out. */
  kidExamples?: number;
  /** Also fold each entry's change stamp (change-stamps.ts) into `stamps`: the replication guard. */
  changeStamps?: boolean;
}

export interface KidCount {
  kid: string;
  label?: string;
  /** We were given this certificate. */
  held: boolean;
  devices: number;
  entries: number;
  /** A few DNs holding a device under this KID (only when asked for with kidExamples). */
  examples?: string[];
}

export interface ProblemCount {
  entries: number;
  /** A few DNs with the reason, for the operator to look at. No values, no secrets. */
  examples: { dn: string; reason: string }[];
}

export interface ExtraAttributeCount {
  attribute: string;
  entries: number;
  note: string;
}

export interface CensusResult {
  base: string;
  filter: string;
  attribute: string;
  /** Entries the filter matched. */
  entries: number;
  withValue: number;
  empty: number;
  multiValued: ProblemCount;
  legacy: { entries: number; devices: number };
  encrypted: { entries: number; devices: number };
  byKid: KidCount[];
  /** Values that do not parse, or devices under a held certificate that do not decrypt. */
  unreadable: ProblemCount & { devices: number };
  extraAttributes: ExtraAttributeCount[];
  /** Newest change stamp per origin over the entries read (only with changeStamps). */
  stamps?: StampVector;
  durationMs: number;
}

export async function census(client: DirectoryClient, opts: CensusOptions): Promise<CensusResult> {
  const started = Date.now();
  const maxExamples = opts.examples ?? 20;
  const extra = opts.extraAttributes ?? [];
  const res: CensusResult = {
    base: opts.base,
    filter: scanFilter({ ...opts, onlyWithAttribute: false }),
    attribute: opts.attribute,
    entries: 0,
    withValue: 0,
    empty: 0,
    multiValued: { entries: 0, examples: [] },
    legacy: { entries: 0, devices: 0 },
    encrypted: { entries: 0, devices: 0 },
    byKid: [],
    unreadable: { entries: 0, devices: 0, examples: [] },
    extraAttributes: extra.map((attribute) => ({
      attribute,
      entries: 0,
      note: `values in ${attribute} are encrypted with the certificate of their day and are not re-encrypted by this tool: they stay under the old key`,
    })),
    ...(opts.changeStamps ? { stamps: {} } : {}),
    durationMs: 0,
  };
  const kids = new Map<string, KidCount>();
  const example = (p: ProblemCount, dn: string, reason: string) => {
    p.entries++;
    if (p.examples.length < maxExamples) p.examples.push({ dn, reason });
  };

  const read = opts.changeStamps ? [...extra, CHANGE_STAMP_ATTRIBUTE] : extra;
  for await (const page of scanPages(client, { ...opts, onlyWithAttribute: false, extraAttributes: read })) {
    for (const e of page) {
      res.entries++;
      if (res.stamps) foldStamp(res.stamps, e.extra[CHANGE_STAMP_ATTRIBUTE]?.[0]);
      extra.forEach((a, i) => {
        if ((e.extra[a] ?? []).some((v) => v.length > 0)) res.extraAttributes[i].entries++;
      });
      const values = e.values.filter((v) => v.length > 0);
      if (values.length === 0) {
        res.empty++;
        continue;
      }
      res.withValue++;
      if (values.length > 1) {
        example(res.multiValued, e.dn, `${values.length} values: the ADC and this tool support one value per user`);
        continue;
      }
      let attr;
      try {
        attr = parseAttribute(values[0]);
      } catch (err) {
        example(res.unreadable, e.dn, errorMessage(err));
        continue;
      }
      if (attr.format === 'legacy') {
        res.legacy.entries++;
        res.legacy.devices += attr.devices.length;
        continue;
      }
      res.encrypted.entries++;
      res.encrypted.devices += attr.devices.length;
      const seenHere = new Set<string>();
      let bad: string | undefined;
      for (const d of attr.devices) {
        const kid = toB64Url(d.kid);
        const held = opts.keyring?.get(d.kid);
        const k = kids.get(kid) ?? { kid, held: Boolean(held), devices: 0, entries: 0, ...(opts.kidLabels?.[kid] ? { label: opts.kidLabels[kid] } : {}) };
        k.devices++;
        if (!seenHere.has(kid)) {
          k.entries++;
          if (opts.kidExamples && (k.examples ??= []).length < opts.kidExamples) k.examples.push(e.dn);
        }
        seenHere.add(kid);
        kids.set(kid, k);
        if (held) {
          try {
            decryptDevice(d, held);
          } catch (err) {
            res.unreadable.devices++;
            bad ??= errorMessage(err);
          }
        }
      }
      if (bad) example(res.unreadable, e.dn, bad);
    }
  }
  res.byKid = [...kids.values()].sort((a, b) => b.devices - a.devices);
  res.durationMs = Date.now() - started;
  return res;
}
