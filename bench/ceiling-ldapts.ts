// The in-process ceiling (the older figure): the same compare-and-swap modifies sent with this
// project's LDAP client, each connection a group at a time with the group's modifies in flight
// together, and each group read back with one search, as the engine verifies.
import { casReplace, readValues, type DirectoryClient } from '../src/directory/index.js';
import { readCasLdif } from './ldif.js';
import { ATTRIBUTE } from './seed.js';

export async function ldaptsCeiling(conns: DirectoryClient[], files: string[], groupSize: number): Promise<{ secs: number; entries: number }> {
  let entries = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    conns.map(async (c, i) => {
      for await (const g of readCasLdif(files[i], groupSize)) {
        await Promise.all(g.map((p) => casReplace(c, p.dn, ATTRIBUTE, p.from, p.to)));
        const back = await readValues(
          c,
          g.map((p) => p.dn),
          ATTRIBUTE,
        );
        if (back.size !== g.length) throw new Error(`ceiling read back ${back.size} of ${g.length}`);
        entries += g.length;
      }
    }),
  );
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, entries };
}
