// `authenticationldapaction`: how an appliance reaches the directory — server, port, security,
// base, bind account, login-name attribute, search filter and the attribute it keeps OTP secrets
// in (`-OTPSecret`). The run compares these with the inventory (src/steps/ldap-actions.ts): the
// gateway reads what its action says, whatever the inventory believes.
import type { NitroClient } from './client.js';

export interface LdapAction {
  name: string;
  /** serverip, or servername (an FQDN) when the action names the server that way. */
  server: string;
  port: number;
  secType: 'PLAINTEXT' | 'TLS' | 'SSL';
  base: string;
  bindDN: string;
  loginName: string;
  searchFilter: string;
  /** The OTP secret attribute; undefined on an action used for passwords or groups only. */
  otpSecret?: string;
  /** `authtimeout`: how long the appliance waits for the LDAP server's answer (seconds; default 3, at least 1). */
  authTimeoutSec: number;
}

/** The appliance's default authtimeout (NITRO reference: default 3, minimum 1). */
export const DEFAULT_AUTH_TIMEOUT_SEC = 3;

function text(v: unknown): string {
  return v === undefined || v === null ? '' : String(v).trim();
}

export function parseLdapAction(rec: Record<string, unknown>): LdapAction {
  const sec = text(rec.sectype).toUpperCase();
  const secType = sec === 'SSL' || sec === 'TLS' ? sec : 'PLAINTEXT';
  const port = Number(rec.serverport);
  const timeout = Number(rec.authtimeout);
  return {
    name: text(rec.name),
    server: text(rec.serverip) || text(rec.servername),
    // 389 and 636 are the appliance's defaults for PLAINTEXT/TLS and SSL.
    port: Number.isInteger(port) && port > 0 ? port : secType === 'SSL' ? 636 : 389,
    secType,
    base: text(rec.ldapbase),
    bindDN: text(rec.ldapbinddn),
    loginName: text(rec.ldaploginname) || 'sAMAccountName',
    searchFilter: text(rec.searchfilter),
    ...(text(rec.otpsecret) ? { otpSecret: text(rec.otpsecret) } : {}),
    authTimeoutSec: Number.isFinite(timeout) && timeout >= 1 ? timeout : DEFAULT_AUTH_TIMEOUT_SEC,
  };
}

/** Every LDAP action on the appliance ([] when it has none). */
export async function listLdapActions(client: NitroClient): Promise<LdapAction[]> {
  const list = (await client.getList<Record<string, unknown>>('authenticationldapaction')) ?? [];
  return list.map(parseLdapAction);
}

/** The URL the action reaches its server at: SSL is LDAPS, TLS is StartTLS over ldap://. */
export function actionUrl(a: LdapAction): { url: string; startTls: boolean } {
  const host = a.server.includes(':') && !a.server.startsWith('[') ? `[${a.server}]` : a.server;
  return { url: `${a.secType === 'SSL' ? 'ldaps' : 'ldap'}://${host}:${a.port}`, startTls: a.secType === 'TLS' };
}

/** The action's user filter as the appliance forms it: its search filter ANDed with the login-name attribute. */
export function actionUserFilter(a: LdapAction): string {
  const f = a.searchFilter;
  const extra = f ? (f.startsWith('(') ? f : `(${f})`) : '';
  return extra ? `(&${extra}(${a.loginName}=*))` : `(${a.loginName}=*)`;
}
