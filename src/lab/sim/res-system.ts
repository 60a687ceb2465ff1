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
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} `
    + `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
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

function haEntry(id: number, n: SimNode): Record<string, unknown> {
  return {
    id,
    name: n.name,
    ipaddress: n.ip,
    state: n.role === 'secondary' ? 'Secondary' : 'Primary',
    hastatus: 'UP',
    hasync: 'ENABLED',
    haprop: 'ENABLED',
  };
}

export function handleHanode(req: NitroRequest): NitroReply {
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

export function handleNsrunningconfig(req: NitroRequest): NitroReply {
  if (req.method !== 'GET') throw new NitroFault(278, `${req.method} is not supported on nsrunningconfig`);
  const cfg = req.node.config;
  const lines = [`#NS13.1 Build 49.15`, `set ns config -IPAddress ${req.node.ip} -netmask 255.255.255.0`];
  if (req.node.peer) lines.push(`add HA node 1 ${req.node.peer.ip}`);
  for (const rec of cfg.certkeys.values()) {
    lines.push(`add ssl certKey ${rec.certkey} -cert ${rec.cert}${rec.key ? ` -key ${rec.key}` : ''}${rec.inform !== 'PEM' ? ` -inform ${rec.inform}` : ''}${rec.expirymonitor === 'ENABLED' ? ' -expiryMonitor ENABLED' : ''}`);
  }
  const flag: Record<string, string> = { userdataencryptionkey: 'userDataEncryptionKey', certkeyname: 'certkeyName', cacert: 'cacert' };
  for (const b of cfg.bindings) lines.push(`bind vpn global -${flag[b.kind]} ${b.certkey}`);
  lines.push(`set aaa otpparameter -encryption ${cfg.otp.encryption} -maxOTPDevices ${cfg.otp.maxotpdevices}`);
  return done(200, { nsrunningconfig: { response: `${lines.join('\n')}\n` } });
}
