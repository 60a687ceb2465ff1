// A user enrolling a device through the lab gateway (POST /manageotp/register), as the browser
// flow does: the gateway encrypts it under the newest key bound and writes the directory.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { E2eLab, SeededUserRecord } from './e2e.js';

export interface Enrolment {
  status: number;
  body: Record<string, unknown>;
}

/** The seeded password of `user` (the lab keeps them, mode 0600, for tests like this). */
export function seededPassword(lab: E2eLab, user: SeededUserRecord): string {
  const all = JSON.parse(readFileSync(join(lab.labDir, 'secrets', 'users.json'), 'utf8')) as { users: { dn: string; password: string }[] };
  const found = all.users.find((u) => u.dn === user.dn);
  if (!found) throw new Error(`no seeded password for ${user.dn}`);
  return found.password;
}

export function enrolDevice(lab: E2eLab, user: SeededUserRecord, deviceName: string, secret: string, applianceIndex = 0): Promise<Enrolment> {
  const gateway = lab.status.appliances[applianceIndex]!.gatewayUrl;
  const ca = readFileSync(lab.status.directory.caFile, 'utf8');
  const body = new URLSearchParams({ user: user.sAMAccountName, password: seededPassword(lab, user), deviceName, secret }).toString();
  return new Promise((resolve, reject) => {
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
}
