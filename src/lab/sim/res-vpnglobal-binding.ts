// `vpnglobal_sslcertkey_binding`: the userDataEncryptionKey binding (plus certkeyname / cacert,
// which share the resource). Bind with PUT or POST, read, unbind with DELETE ?args=.
//
// Firmware 'single' (older builds, where a reader reports only one key may be bound): binding a
// second, different userDataEncryptionKey fails with 278 "Invalid argument value" naming the key
// already bound, the generic argument error an older build gives for a single-valued option
// (inferred; no source states the exact code). Binding the same key twice is 273 on any firmware.
import type { BindingKind, BindingRecord, SimNode } from './appliance-state.js';
import { NitroFault, done, type NitroReply } from './nitro-errors.js';
import { payload, type NitroRequest } from './nitro-request.js';
import { shapeList } from './query.js';

const KINDS: BindingKind[] = ['userdataencryptionkey', 'certkeyname', 'cacert'];

function kindOf(obj: Record<string, unknown> | Map<string, string>): { kind: BindingKind; certkey: string } {
  const get = (k: string): unknown => (obj instanceof Map ? obj.get(k) : obj[k]);
  const present = KINDS.filter((k) => get(k) !== undefined && get(k) !== '');
  if (present.length !== 1) throw new NitroFault(278, `give exactly one of ${KINDS.join(', ')}`);
  const kind = present[0];
  const v = get(kind);
  if (typeof v !== 'string') throw new NitroFault(278, `${kind} must be a string`);
  return { kind, certkey: v };
}

export function bindUserDataKey(node: SimNode, certkey: string): void {
  bind(node, 'userdataencryptionkey', certkey);
}

function bind(node: SimNode, kind: BindingKind, certkey: string): void {
  const cfg = node.config;
  const rec = cfg.certkeys.get(certkey);
  if (!rec) throw new NitroFault(1540, certkey);
  if (cfg.bindings.some((b) => b.kind === kind && b.certkey === certkey)) {
    throw new NitroFault(273, `vpn global ${kind} ${certkey}`);
  }
  if (kind === 'userdataencryptionkey') {
    if (!rec.key) throw new NitroFault(278, `userDataEncryptionKey ${certkey} has no private key`);
    const existing = cfg.userDataKeys();
    if (node.firmware === 'single' && existing.length > 0) {
      throw new NitroFault(278, `userDataEncryptionKey ${existing[0]} is already bound; unbind it first`);
    }
  }
  cfg.bindings.push({ kind, certkey });
  cfg.touch();
}

/** A binding as the GET shows it, in the row shape of the node's firmware profile. */
function row(node: SimNode, b: BindingRecord): Record<string, unknown> {
  if (b.kind !== 'userdataencryptionkey') return { [b.kind]: b.certkey };
  switch (node.profile.bindingRows) {
    case 'with-certkeyname':
      return { certkeyname: b.certkey, userdataencryptionkey: b.certkey };
    case 'no-echo':
      return { certkeyname: b.certkey };
    default:
      return { userdataencryptionkey: b.certkey };
  }
}

export function handleVpnglobalBinding(req: NitroRequest): NitroReply {
  const cfg = req.node.config;
  switch (req.method) {
    case 'PUT':
    case 'POST': {
      const { kind, certkey } = kindOf(payload(req));
      bind(req.node, kind, certkey);
      return done(req.method === 'POST' ? 201 : 200);
    }
    case 'GET': {
      const items = shapeList(
        cfg.bindings.map((b) => row(req.node, b)),
        req.query,
      );
      // An empty binding has no resource key at all, as on the appliance.
      return done(200, items.length > 0 ? { vpnglobal_sslcertkey_binding: items } : {});
    }
    case 'DELETE': {
      const { kind, certkey } = kindOf(req.query.args);
      const i = cfg.bindings.findIndex((b) => b.kind === kind && b.certkey === certkey);
      if (i < 0) throw new NitroFault(1542, `vpn global ${kind} ${certkey}`);
      cfg.bindings.splice(i, 1);
      cfg.touch();
      return done(200);
    }
    default:
      throw new NitroFault(278, `${req.method} is not supported on vpnglobal_sslcertkey_binding`);
  }
}
