// Change stamps: how a replica proves it has caught up with writes made on another server.
// Counting devices per certificate cannot tell a replica that already has the rollback's restore
// from one that has not even received the re-encryption yet: both show the original values. The
// stamp each server keeps on an entry tells them apart. OpenLDAP replicates `entryCSN` unchanged
// (`YYYYmmddHHMMSS.ffffffZ#count#sid#mod`); a server's stamps, folded per origin (the sid), form
// the vector syncrepl itself compares. A replica is behind a target vector while, for some
// origin, its newest stamp is older than the target's. Servers that keep no such stamp (Active
// Directory's replicated metadata is not an entry attribute) give an empty vector, and the
// guard falls back to the counts alone (docs/directory.md).

/** Newest stamp per origin server. */
export type StampVector = Record<string, string>;

/** The attribute read for the stamp: OpenLDAP's operational entryCSN. */
export const CHANGE_STAMP_ATTRIBUTE = 'entryCSN';

const CSN = /^(\d{14}(?:\.\d+)?Z)#([0-9a-f]+)#([0-9a-f]+)#([0-9a-f]+)$/i;

/** Add one entry's stamp to the vector (stamps in an unknown form are ignored). */
export function foldStamp(vector: StampVector, value: string | undefined): void {
  const m = value ? CSN.exec(value.trim()) : null;
  if (!m) return;
  const origin = m[3];
  const cur = vector[origin];
  if (cur === undefined || compareStamps(value!.trim(), cur) > 0) vector[origin] = value!.trim();
}

/** CSNs order as text: fixed-width time, then count, then sid, then mod. */
function compareStamps(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Origins where `have` is older than `target` (empty: caught up, or no stamps to compare). */
export function behindOn(have: StampVector | undefined, target: StampVector | undefined): string[] {
  if (!target || !have) return [];
  if (Object.keys(have).length === 0) return [];
  return Object.entries(target)
    .filter(([origin, t]) => have[origin] === undefined || compareStamps(have[origin], t) < 0)
    .map(([origin]) => origin);
}
