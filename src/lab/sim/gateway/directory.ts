// The gateway's LDAP action, as the appliance runs it: search the user by the login-name
// attribute as the bind (service) account, bind as the user's DN with the password, read the OTP
// attribute as the service account. Written on ldapts directly, not on src/directory, so the
// double stays independent of the code it tests.
import { Attribute, Change, Client, EqualityFilter, InvalidCredentialsError } from 'ldapts';
import type { SimDirectoryConfig } from '../types.js';

export class BadCredentials extends Error {}
export class CasConflict extends Error {}

export interface DirectoryUser {
  dn: string;
  /** The OTP attribute's values: [] absent, one normally; several is an error the caller reports. */
  values: string[];
}

function client(dir: SimDirectoryConfig): Client {
  return new Client({
    url: dir.url,
    // As the appliance: no longer than the action's authtimeout for any answer.
    timeout: dir.timeoutMs ?? 10_000,
    connectTimeout: 5_000,
    ...(dir.caPem ? { tlsOptions: { ca: [dir.caPem] } } : {}),
  });
}

async function asService<T>(dir: SimDirectoryConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = client(dir);
  try {
    await c.bind(dir.bindDN, dir.bindPassword);
    return await fn(c);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/** The login as the appliance accepts it: "user", "DOMAIN\\user" or "user@domain" name the same account. */
export function accountName(login: string): string {
  const afterDomain = login.includes('\\') ? login.slice(login.lastIndexOf('\\') + 1) : login;
  return afterDomain.includes('@') ? afterDomain.slice(0, afterDomain.indexOf('@')) : afterDomain;
}

function valuesOf(v: unknown): string[] {
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/** The action's search filter ANDed with the login-name match, as the appliance combines them. */
function userFilter(dir: SimDirectoryConfig, login: string): string {
  const match = new EqualityFilter({ attribute: dir.userNameAttribute, value: accountName(login) }).toString();
  const extra = dir.searchFilter?.trim();
  if (!extra) return match;
  return `(&${extra.startsWith('(') ? extra : `(${extra})`}${match})`;
}

export async function readUser(dir: SimDirectoryConfig, login: string): Promise<DirectoryUser | undefined> {
  return asService(dir, async (c) => {
    const { searchEntries } = await c.search(dir.baseDN, {
      scope: 'sub',
      filter: userFilter(dir, login),
      attributes: [dir.attribute],
      sizeLimit: 2,
    });
    if (searchEntries.length !== 1) return undefined;
    const e = searchEntries[0];
    const key = Object.keys(e).find((k) => k.toLowerCase() === dir.attribute.toLowerCase());
    return { dn: e.dn, values: valuesOf(key ? e[key] : undefined) };
  });
}

/** A simple bind as the user; an empty password is refused first (it would be an anonymous bind). */
export async function checkPassword(dir: SimDirectoryConfig, dn: string, password: string): Promise<void> {
  if (password === '') throw new BadCredentials('empty password');
  const c = client(dir);
  try {
    await c.bind(dn, password);
  } catch (err) {
    if (err instanceof InvalidCredentialsError) throw new BadCredentials('invalid credentials');
    throw err;
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

/**
 * Compare-and-swap write of the OTP value: delete the exact value read and add the new one in
 * one modify, or add where the attribute was empty (an add on a single-valued attribute that
 * someone filled meanwhile fails too). Either way a concurrent change makes it fail: CasConflict.
 */
export async function casWrite(dir: SimDirectoryConfig, dn: string, oldValue: string | undefined, newValue: string): Promise<void> {
  await asService(dir, async (c) => {
    const add = new Change({ operation: 'add', modification: new Attribute({ type: dir.attribute, values: [newValue] }) });
    const changes = oldValue === undefined ? [add] : [new Change({ operation: 'delete', modification: new Attribute({ type: dir.attribute, values: [oldValue] }) }), add];
    try {
      await c.modify(dn, changes);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 16 || code === 19 || code === 20) throw new CasConflict(`value changed under us (LDAP ${code})`);
      throw err;
    }
  });
}
