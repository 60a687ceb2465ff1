// The lab's directory servers beyond the first, and the LDAP action each simulated appliance
// gets: replicas (slapd syncrepl refreshAndPersist through a relay in the simulator process that
// delays what dc1 sends, so a change reaches them `replicationDelaySec` late), appliance i reading
// server i mod n, and the OTP attribute per appliance (to set up an appliance that disagrees with
// the inventory).
import { join } from 'node:path';
import { Client } from 'ldapts';
import { AdcError, InputError } from '../errors.js';
import type { SimLdapAction } from './sim/types.js';
import { OTP_ATTRIBUTES } from './slapd-config.js';
import type { PemPair } from './pki.js';
import { freePort } from './processes.js';
import { startSlapd, type RunningSlapd } from './slapd.js';

export interface LabServer {
  /** dc1 is the one the lab seeds and the inventory writes to; dc2… are replicas. */
  name: string;
  slapd: RunningSlapd;
  /** A replica's relay (served by the simulator): where it reads dc1 through, and how late. */
  relay?: { port: number; targetPort: number; delayMs: number };
}

/** `--replication-delay 10s|500ms|2m|10` (seconds when no unit). */
export function parseDelay(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new InputError(`--replication-delay "${text}" is not a duration (e.g. 10s, 500ms, 2m)`);
  const n = Number(m[1]);
  const sec = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
  if (sec < 0.1 || sec > 3600) throw new InputError(`--replication-delay must be between 100ms and 1h (got ${text})`);
  return sec;
}

/** One OTP attribute for every appliance, or one per appliance (adc1, adc2, …). */
export function otpAttributePerAppliance(n: number, given: string | string[] | undefined, fallback: string): string[] {
  const list = given === undefined ? [fallback] : Array.isArray(given) ? given : given.split(',').map((s) => s.trim());
  for (const a of list) {
    if (!(OTP_ATTRIBUTES as readonly string[]).includes(a)) throw new InputError(`--otp-attribute: "${a}" is not one of the lab schema's OTP attributes (${OTP_ATTRIBUTES.join(', ')})`);
  }
  if (list.length === 1) return Array.from({ length: n }, () => list[0]);
  if (list.length !== n) throw new InputError(`--otp-attribute lists ${list.length} attribute(s) for ${n} appliance(s): give one, or one per appliance`);
  return list;
}

export async function startReplicas(first: RunningSlapd, count: number, delaySec: number, dirOf: (name: string) => string, ca: PemPair): Promise<LabServer[]> {
  const out: LabServer[] = [];
  try {
    for (let i = 2; i <= count; i++) {
      const name = `dc${i}`;
      // The replica keeps retrying (every second) until the simulator serves its relay.
      const relay = { port: await freePort(), targetPort: Number(new URL(first.url).port), delayMs: Math.round(delaySec * 1000) };
      const slapd = await startSlapd({
        dir: dirOf(name),
        ca,
        rootPassword: first.rootPassword,
        servicePassword: first.servicePassword,
        // Every answer from dc1 comes through the relay delaySec late: slapd's own timeouts must be longer.
        replicaOf: { url: `ldap://127.0.0.1:${relay.port}`, rootDN: first.rootDN, rootPassword: first.rootPassword, timeoutSec: Math.ceil(delaySec) + 30 },
      });
      out.push({ name, slapd, relay });
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

export const LAB_AUTH_TIMEOUT_SEC = 2;

/** The action appliance `index` gets: LDAPS to server index mod n, the users OU, the given OTP attribute. */
export function labLdapAction(servers: LabServer[], index: number, otpAttribute: string): SimLdapAction {
  const s = servers[index % servers.length].slapd;
  const u = new URL(s.ldapsUrl);
  return {
    name: 'ldap-otp',
    serverip: u.hostname,
    serverport: Number(u.port),
    sectype: 'SSL',
    ldapbase: s.usersDN,
    ldapbinddn: s.serviceDN,
    bindPassword: s.servicePassword,
    ldaploginname: 'sAMAccountName',
    otpsecret: otpAttribute,
    // Below the appliance's default of 3 s: the lab's directory answers in milliseconds, and the
    // run's end-of-run check waits this long after an unbind for registrations under way.
    authtimeout: LAB_AUTH_TIMEOUT_SEC,
  };
}

/** Wait until every replica holds as many entries as dc1 (the seed has reached it through its relay). */
export async function awaitReplicas(first: RunningSlapd, replicas: LabServer[], delaySec: number): Promise<void> {
  if (replicas.length === 0) return;
  const count = async (s: RunningSlapd): Promise<number> => {
    const c = new Client({ url: s.url, timeout: 5000, connectTimeout: 2000 });
    try {
      await c.bind(first.rootDN, first.rootPassword);
      const { searchEntries } = await c.search(first.baseDN, { scope: 'sub', filter: '(objectClass=*)', attributes: ['1.1'], paged: { pageSize: 500 } });
      return searchEntries.length;
    } catch {
      return -1;
    } finally {
      await c.unbind().catch(() => undefined);
    }
  };
  const want = await count(first);
  const deadline = Date.now() + delaySec * 1000 + 60_000;
  for (const r of replicas) {
    let have = await count(r.slapd);
    while (have < want) {
      if (Date.now() > deadline)
        throw new AdcError(
          `replica ${r.name} (${r.slapd.url}) holds ${have < 0 ? 'nothing readable' : `${have} entries`} of dc1's ${want} after ${Math.round(delaySec + 60)} s: replication does not work (log: ${r.slapd.files.logFile})`,
        );
      await new Promise((res) => setTimeout(res, 250));
      have = await count(r.slapd);
    }
  }
}
