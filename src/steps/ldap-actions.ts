// Preflight's comparison of the appliances' LDAP actions with the inventory's directory. The
// gateway reads OTP secrets where its action says; a run that re-encrypts somewhere else leaves
// users under the old certificate that its census never sees, and the unbind locks them out.
// Refused (exit 2, both sides named): an action naming another OTP attribute; an action base
// that does not contain the inventory's base; an action filter that selects users holding an
// OTP value that the inventory's base and filter do not select.
//
// "Selects users the inventory's filter does not" is judged on the directory, not on the filter
// text: both searches are run (the action's search filter ANDed with its login-name attribute,
// under its base, as the appliance forms it; the inventory's filter under its base) and their
// DN sets compared. Only users the action finds that hold a value in the OTP attribute refuse
// the run — they are the ones whose secrets would be left behind; users it finds with no value
// yet are named as a warning (they could enrol during the run, under the new key).
import { dnKey, scan, type CensusResult } from '../directory/index.js';
import { errorMessage } from '../errors.js';
import { actionUserFilter, type LdapAction } from '../nitro/index.js';
import type { DirectorySpec } from '../playbook/inventory.js';
import type { JsonObject } from '../runner/json.js';
import type { StepContext, TargetResult } from '../runner/step.js';
import { otpActions, serverOfAction, unlistedServers, type ApplianceActions } from './directory-from-actions.js';
import type { Estate } from './estate.js';
import { allowedUnreachable, censusEveryServer, devicesUnder, timeoutMs, type ServerCensus } from './replication.js';

export const ACTIONS_TARGET = 'ldap-actions';

/** The inventory base lies at or under the action's base (RDN by RDN, compared as servers do). */
export function baseContains(actionBase: string, inventoryBase: string): boolean {
  const a = dnKey(actionBase);
  const i = dnKey(inventoryBase);
  return a === '' || i === a || i.endsWith(`,${a}`);
}

interface Selection {
  dns: Set<string>;
  withValue: Set<string>;
}

async function select(estate: Estate, base: string, filter: string, attribute: string): Promise<Selection> {
  const client = await estate.directory();
  try {
    const out: Selection = { dns: new Set(), withValue: new Set() };
    for await (const e of scan(client, { base, filter, attribute, onlyWithAttribute: false, pageSize: estate.inventory.directory.pageSize })) {
      const k = dnKey(e.dn);
      out.dns.add(k);
      if (e.values.length) out.withValue.add(e.dn);
    }
    return out;
  } finally {
    await client.close();
  }
}

export function describeAction(dir: DirectorySpec, a: LdapAction): string {
  return `${a.name}: server ${serverOfAction(dir, a)} (${a.secType}), base ${a.base || '(none)'}, filter ${actionUserFilter(a)}, OTP attribute ${a.otpSecret ?? '(none)'}`;
}

export async function checkLdapActions(estate: Estate, ctx: StepContext): Promise<TargetResult> {
  const dir = estate.inventory.directory;
  const all = await estate.ldapActions();
  const problems: string[] = [];
  const inv = estate.inventory.file;
  for (const u of all.filter((x) => x.error)) ctx.note(u.appliance, `its LDAP actions could not be read (${u.error}): the attribute, base and filter it uses are not checked`, 'warn');
  for (const a of all.filter((x) => !x.error && !x.actions.some((y) => y.otpSecret))) {
    ctx.note(a.appliance, `no LDAP action names an OTP secret attribute (${a.actions.length} action(s)): nothing to compare with the inventory`, 'warn');
  }
  let ours: Selection | undefined;
  const theirs = new Map<string, Selection>();
  for (const { appliance, action } of otpActions(all)) {
    const where = `${appliance}'s LDAP action ${action.name}`;
    if (action.otpSecret!.toLowerCase() !== dir.attribute.toLowerCase()) {
      problems.push(`${where} keeps OTP secrets in ${action.otpSecret}, the inventory's directory.attribute is ${dir.attribute} (${inv}): the run would re-encrypt values the gateway does not read`);
      continue;
    }
    if (!baseContains(action.base, dir.base)) {
      problems.push(`${where} searches under ${action.base || '(empty base)'}, which does not contain the inventory's directory.base ${dir.base} (${inv})`);
      continue;
    }
    const filter = actionUserFilter(action);
    try {
      ours ??= await select(estate, dir.base, dir.filter, dir.attribute);
      const key = `${action.base}\n${filter}`;
      if (!theirs.has(key)) theirs.set(key, await select(estate, action.base, filter, dir.attribute));
      const t = theirs.get(key)!;
      const missed = [...t.withValue].filter((dn) => !ours!.dns.has(dnKey(dn)));
      const emptyMissed = [...t.dns].filter((k) => !ours!.dns.has(k)).length - missed.length;
      if (missed.length) {
        problems.push(
          `${where} finds ${missed.length} user(s) with an OTP value under base ${action.base} and filter ${filter} that the inventory's base ${dir.base} and filter ${dir.filter} (${inv}) do not select (e.g. ${missed.slice(0, 3).join('; ')}): their secrets would stay under the old certificate`,
        );
      } else if (emptyMissed > 0) {
        ctx.note(
          appliance,
          `${where} finds ${emptyMissed} user(s) with no OTP value that the inventory's base and filter do not select: should they enrol during the run, their devices are encrypted under the new certificate and the census does not see them`,
          'warn',
        );
      }
    } catch (err) {
      problems.push(`${where}: comparing its filter ${filter} with the inventory's ${dir.filter} on the directory failed (${errorMessage(err)})`);
    }
  }
  for (const u of unlistedServers(dir, all)) {
    ctx.note(
      ACTIONS_TARGET,
      `directory server ${u.server.name} (${u.server.url}) is used by the LDAP action of ${u.appliances.join(', ')} but not listed in the inventory (${inv}): the unbind guard reads it too, with the inventory's bind account`,
      'warn',
    );
  }
  const summary = actionsSummary(dir, all);
  if (problems.length) return { target: ACTIONS_TARGET, status: 'failed', message: problems.join('. '), changed: summary };
  const n = otpActions(all).length;
  return {
    target: ACTIONS_TARGET,
    status: 'ok',
    message: n
      ? `${n} LDAP action(s) with an OTP attribute agree with the inventory: ${otpActions(all)
          .map((o) => `${o.appliance} ${describeAction(dir, o.action)}`)
          .join('; ')}`
      : 'no LDAP action with an OTP attribute was read',
    changed: summary,
  };
}

export function actionsSummary(dir: DirectorySpec, all: ApplianceActions[]): JsonObject {
  return {
    actions: all.map((a) => ({
      appliance: a.appliance,
      error: a.error ?? null,
      actions: a.actions.map((x) => ({
        name: x.name,
        server: serverOfAction(dir, x),
        secType: x.secType,
        base: x.base,
        bindDN: x.bindDN,
        loginName: x.loginName,
        filter: actionUserFilter(x),
        otpSecret: x.otpSecret ?? null,
      })),
    })),
  };
}

/** What the plan shows about the directory: servers, where each appliance reads, the guard, a census per server. */
export interface DirectoryPlan {
  servers: { name: string; url: string; source: 'inventory' | 'action'; writes: boolean; readBy: string[]; census: { old: number; new: number } | null; error: string | null }[];
  fromActions: string[];
  actions: { appliance: string; action: string; server: string; otpSecret: string; base: string; filter: string }[];
  guard: string;
}

export async function directoryPlan(
  estate: Estate,
  params: { replicationTimeout?: number | string | undefined; allowUnreachable?: string | undefined },
  preflightCensus?: CensusResult,
): Promise<DirectoryPlan> {
  const dir = estate.inventory.directory;
  const all = await estate.ldapActions();
  const servers = await estate.guardServers();
  // One server: preflight's census is that server's; several: each is read (the plan's table).
  const counts: ServerCensus[] = servers.length === 1 && preflightCensus ? [{ server: servers[0].name, census: preflightCensus }] : await censusEveryServer(estate, allowedUnreachable(params));
  const writeName = dir.writeTo ?? dir.servers[0]?.name;
  const actions = otpActions(all).map(({ appliance, action }) => ({
    appliance,
    action: action.name,
    server: serverOfAction(dir, action),
    otpSecret: action.otpSecret ?? '',
    base: action.base,
    filter: actionUserFilter(action),
  }));
  const allowed = allowedUnreachable(params);
  return {
    servers: servers.map((s) => {
      const c = counts.find((x) => x.server === s.name);
      return {
        name: s.name,
        url: s.url,
        source: s.source,
        writes: s.name === writeName,
        readBy: actions.filter((a) => a.server === s.name).map((a) => a.appliance),
        census: c?.census ? { old: devicesUnder(c.census, estate.certs.old.km.kidText), new: devicesUnder(c.census, estate.certs.new.km.kidText) } : null,
        error: c?.error ?? null,
      };
    }),
    fromActions: dir.fromActions,
    actions,
    guard:
      servers.length > 1
        ? `the old key is unbound only once every one of ${servers.map((s) => s.name).join(', ')} shows no device under the old certificate; the unbind waits for replication up to ${Math.round(timeoutMs(params) / 1000)} s, then fails and rolls back${allowed.length ? `; allowed to be unreachable: ${allowed.join(', ')}` : '; a server that cannot be read fails it'}`
        : `one directory server (${servers[0]?.name ?? dir.url}): the unbind's census reads it`,
  };
}
