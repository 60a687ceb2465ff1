// Seed a lab directory with users whose OTP values look like a real estate's: mostly one device
// under the old certificate, some with several, some legacy plaintext, many not enrolled and a
// few broken, plus canaries for logon checks. Adds go through the protocol (not slapadd) so the
// memberof overlay sees them, over a few connections with several operations in flight each.
import { Attribute, Change, Client } from 'ldapts';
import { Secret } from 'otpauth';
import { AdcError, errorMessage } from '../errors.js';
import { encryptValue, keyMaterialFromPem, legacyValue, type OtpKeyMaterial, type PlainDevice } from '../otp/index.js';
import { selfSignedCert } from './pki.js';
import { randomPassword, sshaHash, type RunningSlapd } from './slapd.js';

export type SeedKind = 'single' | 'multi' | 'legacy' | 'none' | 'broken-json' | 'unknown-kid' | 'bad-base64';
export const BROKEN_KINDS: readonly SeedKind[] = ['broken-json', 'unknown-kid', 'bad-base64'];

export interface SeededUser {
  index: number;
  dn: string;
  sAMAccountName: string;
  /** Secret: never log. */
  password: string;
  kind: SeedKind;
  /** The devices a correct reader finds (empty for `none` and the broken kinds). Secrets: never log. */
  devices: PlainDevice[];
  /** The value stored in the OTP attribute, exactly; absent for `none`. */
  value?: string;
  inOtpGroup: boolean;
}

export interface SeededCanary {
  dn: string;
  /** `canary`, then `canary2`, `canary3`, … */
  sAMAccountName: string;
  password: string;
  /** Base32; the one device `canary_phone`, encrypted under the old key. */
  totpSecret: string;
  deviceName: string;
  value: string;
}

export interface SeedResult {
  attribute: string;
  users: SeededUser[];
  /** The first canary (`canary`). */
  canary: SeededCanary;
  /** Every canary, the first included; all in the OTP group, like any enrolled user. */
  canaries: SeededCanary[];
  counts: Record<SeedKind, number>;
  otpGroupDN: string;
  seconds: number;
}

export interface SeedOptions {
  count: number;
  /** The certificate the ADCs have bound today: encrypted values are under it. */
  oldKey: OtpKeyMaterial;
  /** Default: the slapd's attribute (userParameters). */
  attribute?: string;
  /** Parallel LDAP connections (default 4) and operations in flight on each (default 16). */
  connections?: number;
  inFlight?: number;
  /** Canary users for logon checks (default 1): `canary`, `canary2`, … */
  canaries?: number;
}

const DEVICE_NAMES = ['iPhone', 'Pixel_7', 'work.phone', 'Authenticator', 'yubi+key', 'tablet'];

/** Base32 (RFC 4648, no padding) of 16 random bytes, as the ADC's registration generates. */
export function newTotpSecret(): string {
  return new Secret({ size: 16 }).base32.replace(/=+$/, '');
}

/** The kind of user `index` is: deterministic, so a count always gives the same mix. */
export function seedKindOf(index: number): SeedKind {
  const bucket = index % 20;
  if (bucket < 10) return 'single';
  if (bucket < 13) return 'multi';
  if (bucket < 15) return 'legacy';
  if (bucket < 19) return 'none';
  // One in four of the remaining slots holds a broken value, cycling through the broken kinds;
  // 200 users give one of each.
  const block = Math.floor(index / 20);
  if (block % 4 === 0) return BROKEN_KINDS[Math.floor(block / 4) % BROKEN_KINDS.length];
  return 'single';
}

export function seedUserNames(index: number): { sAMAccountName: string; cn: string } {
  const n = String(index + 1).padStart(5, '0');
  return { sAMAccountName: `user${n}`, cn: `User ${n}` };
}

interface Planned {
  user: SeededUser;
  entry: Record<string, string | string[]>;
}

function planUser(index: number, slapd: RunningSlapd, attribute: string, oldKey: OtpKeyMaterial, strangerKey: () => OtpKeyMaterial): Planned {
  const { sAMAccountName, cn } = seedUserNames(index);
  // slapd hands DNs back with lower-case attribute types; build them that way so they compare equal.
  const dn = `cn=${cn},${slapd.usersDN}`;
  const password = randomPassword(12);
  const kind = seedKindOf(index);
  const device = (k: number): PlainDevice => ({ name: DEVICE_NAMES[(index + k) % DEVICE_NAMES.length], secret: newTotpSecret() });
  let devices: PlainDevice[] = [];
  let value: string | undefined;
  switch (kind) {
    case 'single':
      devices = [device(0)];
      value = encryptValue(devices, oldKey);
      break;
    case 'multi':
      devices = Array.from({ length: 2 + (index % 2) }, (_, k) => device(k));
      value = encryptValue(devices, oldKey);
      break;
    case 'legacy':
      devices = Array.from({ length: 1 + (index % 2) }, (_, k) => device(k));
      value = legacyValue(devices);
      break;
    case 'none':
      break;
    case 'broken-json':
      value = encryptValue([device(0)], oldKey).slice(0, 40);
      break;
    case 'unknown-kid':
      // Well-formed, but under a certificate no ADC has: readable by nobody.
      value = encryptValue([device(0)], strangerKey());
      break;
    case 'bad-base64': {
      const [kid] = Object.values((JSON.parse(encryptValue([device(0)], oldKey)) as { otpdata: { devices: Record<string, string> } }).otpdata.devices)[0].split('.');
      value = JSON.stringify({ otpdata: { devices: { [device(0).name]: `${kid}.!!not*base64!!.%%%%` } } });
      break;
    }
  }
  const inOtpGroup = index % 3 === 0;
  const entry: Record<string, string | string[]> = {
    objectClass: ['top', 'person', 'organizationalPerson', 'user'],
    cn,
    sn: `User${index + 1}`,
    givenName: 'Lab',
    displayName: cn,
    sAMAccountName,
    userPrincipalName: `${sAMAccountName}@lab.example`,
    mail: `${sAMAccountName}@lab.example`,
    userAccountControl: '512',
    objectCategory: `CN=Person,CN=Schema,CN=Configuration,${slapd.baseDN}`,
    userPassword: sshaHash(password),
  };
  if (value !== undefined) entry[attribute] = value;
  return {
    user: { index, dn, sAMAccountName, password, kind, devices: value === undefined || BROKEN_KINDS.includes(kind) ? [] : devices, ...(value !== undefined ? { value } : {}), inOtpGroup },
    entry,
  };
}

async function connect(slapd: RunningSlapd): Promise<Client> {
  const client = new Client({ url: slapd.url, timeout: 30_000 });
  await client.bind(slapd.rootDN, slapd.rootPassword);
  return client;
}

export async function seedUsers(slapd: RunningSlapd, opts: SeedOptions): Promise<SeedResult> {
  const started = process.hrtime.bigint();
  const attribute = opts.attribute ?? slapd.attribute;
  let stranger: OtpKeyMaterial | undefined;
  const strangerKey = (): OtpKeyMaterial => {
    if (!stranger) {
      const pem = selfSignedCert({ cn: 'OTP encryption (a certificate no ADC has)' });
      stranger = keyMaterialFromPem(pem.certPem, pem.keyPem);
    }
    return stranger;
  };

  const canaries = Array.from({ length: Math.max(1, opts.canaries ?? 1) }, (_, i): SeededCanary => {
    const n = i === 0 ? '' : String(i + 1);
    const totpSecret = newTotpSecret();
    return {
      dn: `cn=Canary User${n ? ` ${n}` : ''},${slapd.usersDN}`,
      sAMAccountName: `canary${n}`,
      password: randomPassword(12),
      totpSecret,
      deviceName: 'canary_phone',
      value: encryptValue([{ name: 'canary_phone', secret: totpSecret }], opts.oldKey),
    };
  });
  const canary = canaries[0];

  const users = new Array<SeededUser>(opts.count);
  const connections = Math.max(1, opts.connections ?? 4);
  const inFlight = Math.max(1, opts.inFlight ?? 16);
  const clients = await Promise.all(Array.from({ length: connections }, () => connect(slapd)));
  try {
    for (const c of canaries) {
      await clients[0].add(c.dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn: c.dn.slice(3, c.dn.indexOf(',')),
        sn: 'Canary',
        sAMAccountName: c.sAMAccountName,
        userPrincipalName: `${c.sAMAccountName}@lab.example`,
        userAccountControl: '512',
        userPassword: sshaHash(c.password),
        [attribute]: c.value,
      });
    }
    let next = 0;
    const worker = async (client: Client): Promise<void> => {
      while (next < opts.count) {
        const index = next++;
        const { user, entry } = planUser(index, slapd, attribute, opts.oldKey, strangerKey);
        try {
          await client.add(user.dn, entry);
        } catch (err) {
          throw new AdcError(`seeding ${user.dn} failed: ${errorMessage(err)}`);
        }
        users[index] = user;
      }
    };
    await Promise.all(clients.flatMap((c) => Array.from({ length: inFlight }, () => worker(c))));

    // memberof updates each member entry too, so add members in slices, not one huge modify.
    const members = [...canaries.map((c) => c.dn), ...users.filter((u) => u.inOtpGroup).map((u) => u.dn)];
    for (let i = 0; i < members.length; i += 500) {
      await clients[0].modify(
        slapd.otpGroupDN,
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'member', values: members.slice(i, i + 500) }),
        }),
      );
    }
  } finally {
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  }

  const counts = Object.fromEntries((['single', 'multi', 'legacy', 'none', ...BROKEN_KINDS] as SeedKind[]).map((k) => [k, 0])) as Record<SeedKind, number>;
  for (const u of users) counts[u.kind]++;
  return {
    attribute,
    users,
    canary,
    canaries,
    counts,
    otpGroupDN: slapd.otpGroupDN,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
