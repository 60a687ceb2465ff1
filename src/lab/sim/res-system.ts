// Appliance-wide resources: aaaotpparameter, nsconfig (get, save), hanode, hafiles (sync),
// nsrunningconfig (text evidence for a change record).
import type { SimNode } from './appliance-state.js';
import { SSL_DIR } from './file-store.js';
import { NitroFault, done, type NitroReply } from './nitro-errors.js';
import { actionRequired, payload, type NitroRequest } from './nitro-request.js';

/** The appliance's own date format, e.g. "Tue Jan  2 10:00:00 2024". */
function nsTime(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` + `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}

export function handleAaaotpparameter(req: NitroRequest): NitroReply {
  const cfg = req.node.config;
  if (req.method === 'GET') return done(200, { aaaotpparameter: { ...cfg.otp } });
  if (req.method !== 'PUT') throw new NitroFault(278, `${req.method} is not supported on aaaotpparameter`);
  const p = payload(req);
  const next = { ...cfg.otp };
  if (p.encryption !== undefined) {
    const e = String(p.encryption).toUpperCase();
    if (e !== 'ON' && e !== 'OFF') throw new NitroFault(278, 'encryption must be ON or OFF');
    next.encryption = e;
  }
  if (p.maxotpdevices !== undefined) {
    const n = Number(p.maxotpdevices);
    if (!Number.isInteger(n) || n < 1 || n > 255) throw new NitroFault(278, 'maxotpdevices must be 1..255');
    next.maxotpdevices = n;
  }
  cfg.otp = next;
  cfg.touch();
  return done(200);
}

export function handleNsconfig(req: NitroRequest): NitroReply {
  const node = req.node;
  const cfg = node.config;
  if (req.method === 'GET') {
    return done(200, {
      nsconfig: {
        ipaddress: node.ip,
        netmask: '255.255.255.0',
        systemtype: node.role === 'standalone' ? 'Stand-alone' : 'HA',
        primaryip: node.primary().ip,
        configchanged: cfg.configChanged,
        lastconfigchangedtime: nsTime(cfg.lastChange),
        lastconfigsavetime: nsTime(cfg.lastSave),
        currentsytemtime: nsTime(new Date()),
      },
    });
  }
  if (req.method !== 'POST') throw new NitroFault(278, `${req.method} is not supported on nsconfig`);
  actionRequired(req, ['save']);
  cfg.save();
  return done(200);
}

/**
 * One hanode row. As the reference has it: `state` is the node's role (Primary, Secondary,
 * UNKNOWN); `hastatus` is a setting (ENABLED, DISABLED, STAYPRIMARY, STAYSECONDARY) and `hasync`
 * is a setting too (ENABLED/DISABLED), not the state of a sync.
 */
function haEntry(id: number, n: SimNode): Record<string, unknown> {
  return {
    id,
    name: n.name,
    ipaddress: n.ip,
    state: n.role === 'secondary' ? 'Secondary' : 'Primary',
    hastatus: n.haSettings.hastatus,
    hasync: n.haSettings.hasync,
    haprop: 'ENABLED',
  };
}

const HA_STATUS = ['ENABLED', 'DISABLED', 'STAYPRIMARY', 'STAYSECONDARY'];

/** `set ha node`: id 0 (this node) only; the settings are not propagated, as the reference says of hasync. */
function setHanode(req: NitroRequest): NitroReply {
  const p = payload(req);
  const id = p.id === undefined ? 0 : Number(p.id);
  if (id !== 0) throw new NitroFault(278, 'only the settings of this node (id 0) can be set here');
  const next = { ...req.node.haSettings };
  const rules: [keyof SimNode['haSettings'], readonly string[]][] = [
    ['hastatus', HA_STATUS],
    ['hasync', ['ENABLED', 'DISABLED']],
  ];
  for (const [field, allowed] of rules) {
    const v = p[field];
    if (v === undefined) continue;
    const text = String(v).toUpperCase();
    if (!allowed.includes(text)) throw new NitroFault(278, `${field} must be one of ${allowed.join(', ')}`);
    next[field] = text;
  }
  req.node.haSettings = next;
  return done(200);
}

export function handleHanode(req: NitroRequest): NitroReply {
  if (req.method === 'PUT') return setHanode(req);
  if (req.method !== 'GET') throw new NitroFault(278, `${req.method} is not supported on hanode`);
  const node = req.node;
  const entries = [haEntry(0, node), ...(node.peer ? [haEntry(1, node.peer)] : [])];
  if (req.name !== undefined) {
    const one = entries.find((e) => String(e.id) === req.name);
    if (!one) throw new NitroFault(258, `id, ${req.name}`);
    return done(200, { hanode: [one] });
  }
  return done(200, { hanode: entries });
}

/** `show ns version`: the profile's version text, as an object (the Go SDK's Nsversion). */
export function handleNsversion(req: NitroRequest): NitroReply {
  if (req.method !== 'GET') throw new NitroFault(278, `${req.method} is not supported on nsversion`);
  return done(200, { nsversion: { version: req.node.profile.version, mode: '1' } });
}

/**
 * `/nitro/v1/stat/<type>`: statistics, JSON with the same error body as config. `ns` and
 * `hanode` only; the counters are the lab's own (no decision reads them).
 */
export function handleStat(req: NitroRequest): NitroReply {
  if (req.method !== 'GET') throw new NitroFault(278, `${req.method} is not supported on statistics`);
  const node = req.node;
  if (req.resource === 'ns') {
    return done(200, { ns: { cpuusagepcnt: 2.1, memusagepcnt: 17.4, rescpuusagepcnt: 1.3, starttime: new Date(Date.now() - 86_400_000).toUTCString() } });
  }
  if (req.resource === 'hanode') {
    return done(200, {
      hanode: {
        hacurstatus: node.peer ? 'YES' : 'NO',
        hacurstate: node.peer ? 'UP' : 'DOWN',
        hacurmasterstate: node.role === 'secondary' ? 'Secondary' : 'Primary',
        transtime: nsTime(new Date(Date.now() - 3_600_000)),
      },
    });
  }
  throw new NitroFault(258, `statistics type, ${req.resource}`);
}

/** Copies the primary's /nsconfig/ssl to the secondary: the HA file sync, forced or periodic. */
export function syncSslFiles(node: SimNode): void {
  const primary = node.primary();
  const secondary = primary.peer;
  if (secondary && secondary.role === 'secondary') primary.files.mirrorTo(secondary.files, SSL_DIR);
}

export function handleHafiles(req: NitroRequest): NitroReply {
  if (req.method !== 'POST') throw new NitroFault(278, `${req.method} is not supported on hafiles`);
  actionRequired(req, ['sync']);
  const mode = req.body?.hafiles && typeof req.body.hafiles === 'object' ? (req.body.hafiles as { mode?: unknown }).mode : undefined;
  const modes = Array.isArray(mode) ? mode.map(String) : mode === undefined ? ['all'] : [String(mode)];
  // Stand-alone: nothing to copy to, and the appliance does not complain (inferred).
  if (modes.some((m) => m.toLowerCase() === 'ssl' || m.toLowerCase() === 'all')) syncSslFiles(req.node);
  return done(200);
}

/**
 * `sync cluster files`: on a cluster, pushes /nsconfig/ssl from the configuration coordinator
 * to the other nodes. The lab has no cluster, so it accepts the documented body and has nothing
 * to copy (inferred shape {"clusterfiles":{"mode":["ssl"]}}; see docs/fidelity.md).
 */
export function handleClusterfiles(req: NitroRequest): NitroReply {
  if (req.method !== 'POST') throw new NitroFault(278, `${req.method} is not supported on clusterfiles`);
  actionRequired(req, ['sync']);
  const body = req.body?.clusterfiles;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new NitroFault(278, 'body must be {"clusterfiles":{"mode":[...]}}');
  const mode = (body as { mode?: unknown }).mode;
  const modes = Array.isArray(mode) ? mode.map(String) : mode === undefined ? [] : [String(mode)];
  const known = ['all', 'bookmarks', 'ssl', 'imports', 'misc', 'dns', 'krb', 'aaa', 'app_catalog', 'all_plus_misc', 'all_minus_misc'];
  if (!modes.length || modes.some((m) => !known.includes(m.toLowerCase()))) throw new NitroFault(278, `mode must be a list of ${known.join(', ')}`);
  return done(200);
}

export function handleNsrunningconfig(req: NitroRequest): NitroReply {
  if (req.method !== 'GET') throw new NitroFault(278, `${req.method} is not supported on nsrunningconfig`);
  const cfg = req.node.config;
  const lines = [`#NS13.1 Build 49.15`, `set ns config -IPAddress ${req.node.ip} -netmask 255.255.255.0`];
  if (req.node.peer) lines.push(`add HA node 1 ${req.node.peer.ip}`);
  for (const rec of cfg.certkeys.values()) {
    lines.push(
      `add ssl certKey ${rec.certkey} -cert ${rec.cert}${rec.key ? ` -key ${rec.key}` : ''}${rec.inform !== 'PEM' ? ` -inform ${rec.inform}` : ''}${rec.expirymonitor === 'ENABLED' ? ' -expiryMonitor ENABLED' : ''}`,
    );
  }
  const flag: Record<string, string> = { userdataencryptionkey: 'userDataEncryptionKey', certkeyname: 'certkeyName', cacert: 'cacert' };
  for (const b of cfg.bindings) lines.push(`bind vpn global -${flag[b.kind]} ${b.certkey}`);
  lines.push(`set aaa otpparameter -encryption ${cfg.otp.encryption} -maxOTPDevices ${cfg.otp.maxotpdevices}`);
  return done(200, { nsrunningconfig: { response: `${lines.join('\n')}\n` } });
}
