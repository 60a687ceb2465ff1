// The census the no-lockout invariant reads: devices per KID over the whole directory (entries
// the run never touched included), a few DNs each, test-decrypted with both certificates. One
// place, for one server (invariant.ts) and for each of several (replication.ts).
import { census, type CensusResult, type DirectoryClient } from '../directory/index.js';
import { Keyring } from '../otp/index.js';
import type { Estate } from './estate.js';

const EXAMPLES = 10;

/** The census the invariant reads, through `client` (closed after): devices per KID, a few DNs each. */
export async function censusThrough(estate: Estate, client: DirectoryClient, opts: { changeStamps?: boolean } = {}): Promise<CensusResult> {
  const dir = estate.inventory.directory;
  try {
    return await census(client, {
      base: dir.base,
      filter: dir.filter,
      attribute: dir.attribute,
      pageSize: dir.pageSize,
      keyring: new Keyring([estate.certs.old.km, estate.certs.new.km]),
      kidExamples: EXAMPLES,
      ...(opts.changeStamps ? { changeStamps: true } : {}),
    });
  } finally {
    await client.close();
  }
}
