// The lab's directory servers beyond the first, and the LDAP action each simulated appliance
// gets: replicas (slapd syncrepl, refreshOnly with an interval, so a change reaches them
// `replicationDelaySec` late at most), appliance i reading server i mod n, and the OTP attribute
// per appliance (to set up an appliance that disagrees with the inventory).
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { SimLdapAction } from './sim/types.js';
import { OTP_ATTRIBUTES } from './slapd-config.js';
import type { PemPair } from './pki.js';
import { startSlapd, type RunningSlapd } from './slapd.js';

export interface LabServer {
  /** dc1 is the one the lab seeds and the inventory writes to; dc2… are replicas. */
  name: string;
  slapd: RunningSlapd;
}

/** `--replication-delay 10s|500ms|2m|10` (seconds when no unit). */
export function parseDelay(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new InputError(`--replication-delay "${text}" is not a duration (e.g. 10s, 500ms, 2m)`);
  const n = Number(m[1]);
  const sec = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
  if (sec < 1 || sec > 3600) throw new InputError(`--replication-delay must be between 1s and 1h (slapd replicates at most once a second; got ${text})`);
  return sec;
}

/** One OTP attribute for every appliance, or one per appliance (adc1, adc2, …). */
export function otpAttributePerAppliance(n: number, given: string | string[] | undefined, fallback: string): string[] {
  const list = given === undefined ? [fallback] : Array.isArray(given) ? given : given.split(',').map((s) => s.trim());
  for (const a of list) {
    if (!(OTP_ATTRIBUTES as readonly string[]).includes(a)) throw new InputError(`--otp-attribute: "${a}" is not one of the lab schema's OTP attributes (${OTP_ATTRIBUTES.join(', ')})`);
  }
  if (list.length === 1) return Array.from({ length: n }, () => list[0]!);
  if (list.length !== n) throw new InputError(`--otp-attribute lists ${list.length} attribute(s) for ${n} appliance(s): give one, or one per appliance`);
  return list;
}

export async function startReplicas(first: RunningSlapd, count: number, delaySec: number, dirOf: (name: string) => string, ca: PemPair): Promise<LabServer[]> {
  const out: LabServer[] = [];
  try {
    for (let i = 2; i <= count; i++) {
      const name = `dc${i}`;
      const slapd = await startSlapd({
        dir: dirOf(name), ca,
        rootPassword: first.rootPassword, servicePassword: first.servicePassword,
        replicaOf: { url: first.url, rootDN: first.rootDN, rootPassword: first.rootPassword, intervalSec: delaySec },
      });
      out.push({ name, slapd });
    }
  } catch (err) {
    for (const s of out) await s.slapd.stop();
    throw err;
  }
  return out;
}

export function replicaDir(slapdDir: string, name: string): string {
  return join(slapdDir, '..', `slapd-${name}`);
}

/** The action appliance `index` gets: LDAPS to server index mod n, the users OU, the given OTP attribute. */
export function labLdapAction(servers: LabServer[], index: number, otpAttribute: string): SimLdapAction {
  const s = servers[index % servers.length]!.slapd;
  const u = new URL(s.ldapsUrl);
  return {
    name: 'ldap-otp', serverip: u.hostname, serverport: Number(u.port), sectype: 'SSL',
    ldapbase: s.usersDN, ldapbinddn: s.serviceDN, bindPassword: s.servicePassword,
    ldaploginname: 'sAMAccountName', otpsecret: otpAttribute,
  };
}
