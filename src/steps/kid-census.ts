// The census the no-lockout invariant reads: devices per KID over the whole directory (entries
// the run never touched included), a few DNs each, test-decrypted with both certificates. One
// place, for one server (invariant.ts) and for each of several (replication.ts).
import { census, type CensusOptions, type CensusResult, type DirectoryClient } from '../directory/index.js';
import { Keyring } from '../otp/index.js';
import type { Estate } from './estate.js';

const EXAMPLES = 10;

/**
 * What every census of the run reads: the inventory's search with both certificates held
 * (devices under them are test-decrypted); `extras` adds what one reader wants besides.
 */
export function runCensusOptions(estate: Estate, extras: Partial<CensusOptions> = {}): CensusOptions {
  const dir = estate.inventory.directory;
  return {
    base: dir.base,
    filter: dir.filter,
    attribute: dir.attribute,
    pageSize: dir.pageSize,
    keyring: new Keyring([estate.certs.old.km, estate.certs.new.km]),
    ...extras,
  };
}

/** The census as the plan and the change record show it: the extra attributes counted, our two certificates named. */
export function recordCensusOptions(estate: Estate): CensusOptions {
  const { old, new: next } = estate.certs;
  return runCensusOptions(estate, {
    extraAttributes: estate.inventory.directory.extraAttributes,
    kidLabels: { [old.km.kidText]: 'old certificate', [next.km.kidText]: 'new certificate' },
  });
}

/** The census the invariant reads, through `client` (closed after): devices per KID, a few DNs each. */
export async function censusThrough(estate: Estate, client: DirectoryClient, opts: { changeStamps?: boolean } = {}): Promise<CensusResult> {
  try {
    return await census(client, runCensusOptions(estate, { kidExamples: EXAMPLES, ...(opts.changeStamps ? { changeStamps: true } : {}) }));
  } finally {
    await client.close();
  }
}
