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

/**
 * Remove `value` from `dn`, only while the attribute still holds it: the undo of a write that
 * added a value where there was none. Throws CasConflict (16) when the value is not there.
 */
export async function casDelete(client: DirectoryClient, dn: string, attribute: string, value: string): Promise<void> {
  checkAttributeName(attribute);
  const del = new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values: [value] }) });
  await client.modify(dn, [del], [16]);
}
