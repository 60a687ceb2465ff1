// Seeds the benchmark's users through the protocol: everyone enrolled under the old key, one
// device each, every tenth user a second one. Nothing is kept per user, so a million users
// cost no more memory than a thousand.
import { Client } from 'ldapts';
import { randomPassword, sshaHash, type RunningSlapd } from '../src/lab/slapd.js';
import { newTotpSecret } from '../src/lab/seed.js';
import { encryptValue, type OtpKeyMaterial } from '../src/otp/index.js';

export const ATTRIBUTE = 'userParameters';

export async function seedUsers(slapd: RunningSlapd, users: number, oldKey: OtpKeyMaterial, onProgress?: (done: number) => void): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const c = new Client({ url: slapd.url, timeout: 120_000 });
      await c.bind(slapd.rootDN, slapd.rootPassword);
      return c;
    }),
  );
  // One password hash for all: the bench never logs on as a user.
  const hash = sshaHash(randomPassword());
  let next = 0;
  let done = 0;
  const worker = async (c: Client) => {
    while (next < users) {
      const i = next++;
      const n = String(i + 1).padStart(7, '0');
      const devices = [{ name: 'phone', secret: newTotpSecret() }, ...(i % 10 === 0 ? [{ name: 'tablet', secret: newTotpSecret() }] : [])];
      await c.add(`cn=User ${n},${slapd.usersDN}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn: `User ${n}`,
        sn: n,
        sAMAccountName: `user${n}`,
        userPassword: hash,
        [ATTRIBUTE]: encryptValue(devices, oldKey),
      });
      if (++done % 50_000 === 0) onProgress?.(done);
    }
  };
  try {
    await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => worker(c))));
  } finally {
    await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
  }
}
