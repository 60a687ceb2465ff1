// The LDAP actions a simulated appliance holds, and the directory its gateway uses through them.
// A real gateway reads the OTP secret with the action its nFactor policy names; the lab has one
// policy, so the first action that names an OTP attribute is the one (docs/fidelity.md, "LDAP
// actions and replication").
import type { SimDirectoryConfig, SimLdapAction } from './types.js';

/** The action an appliance gets when its configuration lists none: the simulator's directory. */
export function defaultLdapAction(dir: SimDirectoryConfig): SimLdapAction {
  const u = new URL(dir.url);
  const ssl = u.protocol === 'ldaps:';
  return {
    name: 'ldap-otp',
    serverip: u.hostname,
    serverport: Number(u.port) || (ssl ? 636 : 389),
    sectype: ssl ? 'SSL' : 'PLAINTEXT',
    ldapbase: dir.baseDN,
    ldapbinddn: dir.bindDN,
    bindPassword: dir.bindPassword,
    ldaploginname: dir.userNameAttribute,
    otpsecret: dir.attribute,
  };
}

export function ldapActionsOf(configured: SimLdapAction[] | undefined, dir: SimDirectoryConfig | undefined): SimLdapAction[] {
  if (configured && configured.length > 0) return configured;
  return dir ? [defaultLdapAction(dir)] : [];
}

/** The server, base, bind account, filter and OTP attribute the gateway reads a user with. */
export function gatewayDirectory(actions: SimLdapAction[], dir: SimDirectoryConfig | undefined): SimDirectoryConfig | undefined {
  const a = actions.find((x) => x.otpsecret);
  if (!a) return dir;
  const host = a.serverip ?? a.servername ?? '127.0.0.1';
  // TLS (StartTLS) is spoken as plain LDAP here: the lab's gateway has no StartTLS path.
  const ssl = a.sectype === 'SSL';
  const url = `${ssl ? 'ldaps' : 'ldap'}://${host}:${a.serverport}`;
  return {
    url,
    // Only for LDAPS: ldapts opens TLS whenever it is given TLS options, even on an ldap:// URL,
    // and a plain server then drops the connection.
    ...(ssl && dir?.caPem ? { caPem: dir.caPem } : {}),
    baseDN: a.ldapbase,
    bindDN: a.ldapbinddn,
    bindPassword: a.bindPassword,
    attribute: a.otpsecret!,
    userNameAttribute: a.ldaploginname,
    ...(a.searchfilter ? { searchFilter: a.searchfilter } : {}),
    timeoutMs: (a.authtimeout ?? 3) * 1000,
  };
}
