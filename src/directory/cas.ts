// Compare-and-swap on one attribute value: a single modify that deletes the exact value we read
// and adds the new one. The server applies both or neither, so a device a user registered after
// our read is never overwritten: the delete fails (16) and we re-read instead.
import { Attribute, Change } from 'ldapts';
import type { DirectoryClient } from './connect.js';
import { checkAttributeName } from './filter.js';

/**
 * Replace `oldValue` with `newValue` on `dn`, or add `newValue` where the attribute was empty
 * (`oldValue` undefined). Throws CasConflict when the stored value is not `oldValue`,
 * InsufficientAccess (50) when the bind account may not write it, DryRunRefusal on a dry run.
 */
export async function casReplace(client: DirectoryClient, dn: string, attribute: string, oldValue: string | undefined, newValue: string): Promise<void> {
  checkAttributeName(attribute);
  const add = new Change({ operation: 'add', modification: new Attribute({ type: attribute, values: [newValue] }) });
  if (oldValue === undefined) {
    // 19/20: a single-valued attribute that already holds a value refuses the add.
    await client.modify(dn, [add], [19, 20]);
    return;
  }
  const del = new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values: [oldValue] }) });
  await client.modify(dn, [del, add], [16, 20]);
}
