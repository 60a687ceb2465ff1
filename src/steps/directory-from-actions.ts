// The directory as the appliances see it. Each appliance's LDAP actions say which servers its
// gateway reads, under which base and filter, and in which attribute it keeps OTP secrets. A
// missing directory section (or missing fields) is completed from them; the servers they use
// join the inventory's in the unbind guard (src/steps/replication.ts), named host:port.
import { InputError, errorMessage } from '../errors.js';
import { actionUrl, actionUserFilter, listLdapActions, type LdapAction, type NitroClient } from '../nitro/index.js';
import { completeFromDraft, missingFields, serverName, type DirectoryServer, type DirectorySpec, type Inventory } from '../playbook/inventory.js';

export interface ApplianceActions {
  appliance: string;
  actions: LdapAction[];
  /** Set when the actions could not be read. */
  error?: string;
}

export async function readAllActions(appliances: { name: string; client: NitroClient }[]): Promise<ApplianceActions[]> {
  const out: ApplianceActions[] = [];
  for (const a of appliances) {
    try {
      out.push({ appliance: a.name, actions: await listLdapActions(a.client) });
    } catch (err) {
      out.push({ appliance: a.name, actions: [], error: errorMessage(err) });
    }
  }
  return out;
}

/** The actions that carry an OTP attribute: the ones the gateway reads secrets through. */
export function otpActions(all: ApplianceActions[]): { appliance: string; action: LdapAction }[] {
  return all.flatMap((a) => a.actions.filter((x) => x.otpSecret).map((action) => ({ appliance: a.appliance, action })));
}

export function actionServer(a: LdapAction): DirectoryServer {
  const { url, startTls } = actionUrl(a);
  return { name: serverName(url), url, startTls, source: 'action' };
}

function sameServer(x: string, y: string): boolean {
  const a = new URL(x);
  const b = new URL(y);
  const port = (u: URL) => u.port || (u.protocol === 'ldaps:' ? '636' : '389');
  return a.hostname.toLowerCase() === b.hostname.toLowerCase() && port(a) === port(b);
}

/** Servers the actions use that the inventory does not list. */
export function unlistedServers(dir: DirectorySpec, all: ApplianceActions[]): { server: DirectoryServer; appliances: string[] }[] {
  const out = new Map<string, { server: DirectoryServer; appliances: string[] }>();
  for (const { appliance, action } of otpActions(all)) {
    const s = actionServer(action);
    if (dir.servers.some((x) => sameServer(x.url, s.url))) continue;
    const e = out.get(s.name) ?? { server: s, appliances: [] };
    if (!e.appliances.includes(appliance)) e.appliances.push(appliance);
    out.set(s.name, e);
  }
  return [...out.values()];
}

/** The inventory server (or action-only server) an appliance's OTP action reads, by name. */
export function serverOfAction(dir: DirectorySpec, a: LdapAction): string {
  const s = actionServer(a);
  return dir.servers.find((x) => sameServer(x.url, s.url))?.name ?? s.name;
}

/** Fill what the inventory's directory section leaves out from the first OTP action; every action is still checked by preflight. */
export function completeDirectory(inv: Inventory, all: ApplianceActions[]): DirectorySpec {
  const d = inv.directoryDraft;
  const missing = missingFields(d);
  const unread = all.filter((a) => a.error);
  const otp = otpActions(all);
  if (otp.length === 0) {
    const why = unread.length ? `; reading them failed on ${unread.map((u) => `${u.appliance} (${u.error})`).join(', ')}` : '';
    throw new InputError(`${inv.file}: the directory section lacks ${missing.join(', ')}, and no appliance has an LDAP action naming an OTP secret attribute to take it from${why}`);
  }
  const { appliance, action } = otp[0];
  const filled: string[] = [];
  const servers = [...new Map(otp.map((o) => actionServer(o.action)).map((s) => [s.name, s])).values()];
  const draft = {
    ...d,
    ...(d.url || d.servers ? {} : (filled.push(`servers (${servers.map((s) => s.name).join(', ')})`), { servers: servers.map((s) => ({ name: s.name, url: s.url, startTls: s.startTls })) })),
    ...(d.bindDN ? {} : (filled.push(`bindDN ${action.bindDN}`), { bindDN: action.bindDN })),
    ...(d.base ? {} : (filled.push(`base ${action.base}`), { base: action.base })),
    ...(d.filter || d.base ? {} : (filled.push(`filter ${actionUserFilter(action)}`), { filter: actionUserFilter(action) })),
    ...(d.attribute ? {} : (filled.push(`attribute ${action.otpSecret}`), { attribute: action.otpSecret })),
  };
  const spec = completeFromDraft(
    draft,
    filled.map((f) => `${f} (from ${appliance}'s LDAP action ${action.name})`),
  );
  if (!spec) throw new InputError(`${inv.file}: the directory section cannot be completed from ${appliance}'s LDAP action ${action.name} (still missing: ${missingFields(draft).join(', ')})`);
  return spec;
}
