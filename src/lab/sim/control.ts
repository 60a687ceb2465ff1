// The lab control endpoint under /__lab on each node's NITRO port: faults, failover and a state
// dump for tests. It does not exist (404) unless the simulator was started with control: true.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimNode } from './appliance-state.js';
import { readBody, sendJson } from './http-util.js';
import type { FaultSpec, SimGatewayOptions } from './types.js';
import { gatewayOptions } from './gateway/options.js';

export interface SimWorld {
  control: boolean;
  nodes: SimNode[];
}

export interface NodeStateDump {
  name: string;
  role: string;
  firmware: string;
  profile: string;
  files: Record<string, string[]>;
  certkeys: { certkey: string; cert: string; key?: string; sha1: string }[];
  bindings: { kind: string; certkey: string }[];
  otp: { encryption: string; maxotpdevices: number };
  configChanged: boolean;
  otpFactor: 'combined' | 'separate';
  gateway: SimGatewayOptions;
  gatewayPosts: SimNode['gatewayPosts'];
  faults: string[];
  gatewayLog: SimNode['gatewayLog'];
}

export function dumpState(node: SimNode): NodeStateDump {
  const cfg = node.config;
  return {
    name: node.name,
    role: node.role,
    firmware: node.firmware,
    profile: node.profile.name,
    files: { '/nsconfig/ssl': node.files.list('/nsconfig/ssl').map(([n]) => n) },
    certkeys: [...cfg.certkeys.values()].map((c) => ({
      certkey: c.certkey,
      cert: c.cert,
      ...(c.key ? { key: c.key } : {}),
      sha1: c.x509.fingerprint.replace(/:/g, '').toLowerCase(),
    })),
    bindings: cfg.bindings.map((b) => ({ ...b })),
    otp: { ...cfg.otp },
    configChanged: cfg.configChanged,
    otpFactor: node.otpFactor,
    gateway: { ...node.gateway },
    gatewayPosts: [...node.gatewayPosts],
    faults: node.faults.list().map((f) => f.on),
    gatewayLog: [...node.gatewayLog],
  };
}

export function failover(node: SimNode): SimNode {
  const peer = node.peer;
  if (!peer) throw new Error(`${node.name} is not part of an HA pair`);
  const [a, b] = [node, peer];
  const aWasPrimary = a.role === 'primary';
  a.role = aWasPrimary ? 'secondary' : 'primary';
  b.role = aWasPrimary ? 'primary' : 'secondary';
  return aWasPrimary ? b : a;
}

export async function handleControl(node: SimNode, world: SimWorld, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (!world.control) {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  try {
    const raw = await readBody(req, 1024 * 1024);
    const body: unknown = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
    switch (route) {
      case 'POST /__lab/fault': {
        const f = node.faults.add(body as FaultSpec);
        sendJson(res, 201, { ok: true, fault: f.on, times: f.remaining });
        return;
      }
      case 'GET /__lab/fault':
        sendJson(res, 200, { faults: node.faults.list() });
        return;
      case 'DELETE /__lab/fault':
        node.faults.clear();
        sendJson(res, 200, { ok: true });
        return;
      case 'POST /__lab/failover': {
        if (!node.peer) {
          sendJson(res, 409, { error: `${node.name} is not part of an HA pair` });
          return;
        }
        const primary = failover(node);
        sendJson(res, 200, { ok: true, primary: primary.name });
        return;
      }
      case 'PUT /__lab/gateway': {
        const { otpFactor: factor, ...rest } = (body ?? {}) as Record<string, unknown>;
        if (factor !== undefined && factor !== 'combined' && factor !== 'separate') throw new Error('otpFactor must be "combined" or "separate"');
        const options = gatewayOptions(rest);
        if (factor !== undefined) node.otpFactor = factor;
        // Replaced as a whole, so a test states every behaviour it relies on.
        if (Object.keys(rest).length > 0 || factor === undefined) node.gateway = options;
        sendJson(res, 200, { ok: true, otpFactor: node.otpFactor, gateway: node.gateway });
        return;
      }
      case 'GET /__lab/state':
        sendJson(res, 200, dumpState(node));
        return;
      default:
        sendJson(res, 404, { error: `no control route ${route}` });
    }
  } catch (err) {
    sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
}
