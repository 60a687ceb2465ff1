// Enrolling a device as a user's browser does (POST /manageotp/register on an appliance's
// gateway): the simulated gateway encrypts it under the newest bound userDataEncryptionKey, the
// way real appliances do, and writes it with compare-and-swap.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { E2eLab } from './e2e.js';

export interface Enrolled {
  user: string;
  dn: string;
  device: string;
  status: number;
  kid?: string;
}

let n = 0;

/** Enrol one new device for `dn` through `appliance`'s gateway; returns what the gateway said. */
export async function enrol(lab: E2eLab, appliance: string, dn: string): Promise<Enrolled> {
  const users = JSON.parse(readFileSync(join(lab.labDir, 'secrets', 'users.json'), 'utf8')) as { users: { dn: string; sAMAccountName: string; password: string }[] };
  const u = users.users.find((x) => x.dn.toLowerCase() === dn.toLowerCase());
  if (!u) throw new Error(`no seeded user ${dn}`);
  const gateway = lab.status.appliances.find((a) => a.name === appliance)?.gatewayUrl;
  if (!gateway) throw new Error(`no appliance ${appliance}`);
  const device = `dev${process.pid}x${++n}`;
  const body = new URLSearchParams({ user: u.sAMAccountName, password: u.password, deviceName: device }).toString();
  const ca = readFileSync(join(lab.labDir, 'pki', 'ca.pem'), 'utf8');
  const reply = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = request(new URL('/manageotp/register', gateway), {
      method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
  return { user: u.sAMAccountName, dn: u.dn, device, status: reply.status, ...(typeof reply.body['kid'] === 'string' ? { kid: reply.body['kid'] } : {}) };
}

/** One user of each kind the issue names: no device before, legacy plaintext, one encrypted device. */
export function enrolmentMix(lab: E2eLab, count = 1): string[] {
  const users = lab.users();
  const pick = (kind: string) => users.filter((u) => u.kind === kind).slice(0, count).map((u) => u.dn);
  return [...pick('none'), ...pick('legacy'), ...pick('single')];
}
