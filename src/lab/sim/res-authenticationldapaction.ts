// `authenticationldapaction`: the appliance's LDAP actions, read-only here (the lab configures
// them at start). Field names follow the vendor's NITRO reference and Terraform provider; the
// bind password is write-only on an appliance and never appears in a reply. Numbers come back
// as numbers (serverport), as NITRO returns integer fields.
import type { SimLdapAction } from './types.js';
import { NitroFault, done, type NitroReply } from './nitro-errors.js';
import type { NitroRequest } from './nitro-request.js';
import { shapeList } from './query.js';

function shown(a: SimLdapAction): Record<string, unknown> {
  return {
    name: a.name,
    ...(a.serverip !== undefined ? { serverip: a.serverip } : {}),
    ...(a.servername !== undefined ? { servername: a.servername } : {}),
    serverport: a.serverport,
    authtimeout: a.authtimeout ?? 3,
    sectype: a.sectype,
    svrtype: 'AD',
    ldapbase: a.ldapbase,
    ldapbinddn: a.ldapbinddn,
    ldaploginname: a.ldaploginname,
    ...(a.searchfilter ? { searchfilter: a.searchfilter } : {}),
    ...(a.otpsecret ? { otpsecret: a.otpsecret } : {}),
    authentication: 'ENABLED',
    requireuser: 'YES',
    validateservercert: 'NO',
  };
}

export function handleAuthenticationldapaction(req: NitroRequest): NitroReply {
  if (req.method !== 'GET') throw new NitroFault(278, `${req.method} is not supported on authenticationldapaction in the lab`);
  const actions = req.node.config.ldapActions;
  if (req.name !== undefined) {
    const one = actions.find((a) => a.name === req.name);
    if (!one) throw new NitroFault(258, `No such resource [name, ${req.name}]`);
    return done(200, { authenticationldapaction: [shown(one)] });
  }
  const items = shapeList(actions.map(shown), req.query);
  return done(200, items.length > 0 ? { authenticationldapaction: items } : {});
}
