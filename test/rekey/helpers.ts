// Shared pieces of the engine tests: service-account connections, reading the whole attribute,
// and checking a value against the devices the seed put there.
import { Client } from 'ldapts';
import { connect, readValues, type DirectoryClient } from '../../src/directory/index.js';
import { Keyring, readSecrets, type OtpKeyMaterial, type PlainDevice } from '../../src/otp/index.js';
import type { TestDirectory } from '../helpers/directory.js';

export function serviceConnect(lab: TestDirectory, extra: { dryRun?: boolean; timeoutMs?: number } = {}): () => Promise<DirectoryClient> {
  return () => connect({ url: lab.slapd.url, bindDN: lab.slapd.serviceDN, password: lab.slapd.servicePassword, ...extra });
}

export async function rootClient(lab: TestDirectory): Promise<Client> {
  const c = new Client({ url: lab.slapd.url });
  await c.bind(lab.slapd.rootDN, lab.slapd.rootPassword);
  return c;
}

/** Every seeded DN (users and canary) → its stored values, as the service account sees them. */
export async function snapshot(lab: TestDirectory): Promise<Map<string, string[]>> {
  const c = await serviceConnect(lab)();
  try {
    return await readValues(c, [...lab.seed.users.map((u) => u.dn), lab.seed.canary.dn], 'userParameters');
  } finally {
    await c.close();
  }
}

/** True when `value` holds exactly `devices` (names and secrets), every one under `key`. */
export function holdsUnder(value: string, devices: PlainDevice[], key: OtpKeyMaterial): boolean {
  let read;
  try {
    read = readSecrets(value, new Keyring([key]));
  } catch {
    return false;
  }
  if (read.format !== 'encrypted' || read.devices.length !== devices.length) return false;
  return devices.every((d) => read.devices.some((r) => r.name === d.name && r.secret === d.secret && r.kid === key.kidText));
}
