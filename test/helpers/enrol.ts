// Enrolling a device as a user's browser does (POST /manageotp/register on an appliance's
// gateway): the simulated gateway encrypts it under the newest bound userDataEncryptionKey, the
// way real appliances do, and writes it with compare-and-swap.
import { readFileSync } from 'node:fs';
import { request, type Agent } from 'node:https';
import { join } from 'node:path';
import type { E2eLab, SeededUserRecord } from './e2e.js';

export interface Enrolment {
  status: number;
  body: Record<string, unknown>;
}

export interface Enrolled {
  user: string;
  dn: string;
  device: string;
  status: number;
  kid?: string;
  /** Why the gateway refused it (absent when accepted). */
  message?: string;
}

function seeded(lab: E2eLab): { dn: string; sAMAccountName: string; password: string }[] {
  return (JSON.parse(readFileSync(join(lab.labDir, 'secrets', 'users.json'), 'utf8')) as { users: { dn: string; sAMAccountName: string; password: string }[] }).users;
}

/** The seeded password of `user` (the lab keeps them, mode 0600, for tests like this). */
export function seededPassword(lab: E2eLab, user: SeededUserRecord): string {
  const found = seeded(lab).find((u) => u.dn === user.dn);
  if (!found) throw new Error(`no seeded password for ${user.dn}`);
  return found.password;
}

function register(lab: E2eLab, gateway: string, form: Record<string, string>): Promise<Enrolment> {
  return postRegister(gateway, readFileSync(join(lab.labDir, 'pki', 'ca.pem'), 'utf8'), form);
}

/** POST /manageotp/register on a lab gateway, as a user's browser would (`agent`: keep-alive for load). */
export function postRegister(gateway: string, ca: string, form: Record<string, string>, agent?: Agent): Promise<Enrolment> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/manageotp/register', gateway),
      {
        method: 'POST',
        ca,
        ...(agent ? { agent } : {}),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Enrol `deviceName` with a chosen secret for `user` through the gateway of the appliance at `applianceIndex`. */
export function enrolDevice(lab: E2eLab, user: SeededUserRecord, deviceName: string, secret: string, applianceIndex = 0): Promise<Enrolment> {
  const gateway = lab.status.appliances[applianceIndex].gatewayUrl;
  return register(lab, gateway, { user: user.sAMAccountName, password: seededPassword(lab, user), deviceName, secret });
}

let n = 0;

/** Enrol one new device (the gateway picks the secret) for `dn` through `appliance`'s gateway. */
export async function enrol(lab: E2eLab, appliance: string, dn: string): Promise<Enrolled> {
  const u = seeded(lab).find((x) => x.dn.toLowerCase() === dn.toLowerCase());
  if (!u) throw new Error(`no seeded user ${dn}`);
  const gateway = lab.status.appliances.find((a) => a.name === appliance)?.gatewayUrl;
  if (!gateway) throw new Error(`no appliance ${appliance}`);
  const device = `dev${process.pid}x${++n}`;
  const reply = await register(lab, gateway, { user: u.sAMAccountName, password: u.password, deviceName: device });
  return {
    user: u.sAMAccountName,
    dn: u.dn,
    device,
    status: reply.status,
    ...(typeof reply.body['kid'] === 'string' ? { kid: reply.body['kid'] } : {}),
    ...(reply.status !== 200 && typeof reply.body['message'] === 'string' ? { message: reply.body['message'] } : {}),
  };
}

/** One user of each kind the issue names: no device before, legacy plaintext, one encrypted device. */
export function enrolmentMix(lab: E2eLab, count = 1): string[] {
  const users = lab.users();
  const pick = (kind: string) =>
    users
      .filter((u) => u.kind === kind)
      .slice(0, count)
      .map((u) => u.dn);
  return [...pick('none'), ...pick('legacy'), ...pick('single')];
}
