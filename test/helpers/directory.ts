// The shared test fixture: a real slapd in a temp directory, seeded under a generated "old" OTP
// certificate, with a "new" one waiting, both also written as PEM files for code that loads
// certificates from disk. Call stop() in afterAll: it stops slapd by pid and removes the dir.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { sleep } from '../../src/lab/processes.js';
import { Client } from 'ldapts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyMaterialFromPem, type OtpKeyMaterial } from '../../src/otp/index.js';
import { selfSignedCert, type PemPair } from '../../src/lab/pki.js';
import { startSlapd, type RunningSlapd } from '../../src/lab/slapd.js';
import { seedUsers, type SeedResult } from '../../src/lab/seed.js';

/** Key material plus where its PEM files are. `keyPem`/`keyFile` are secrets: never log them. */
export interface TestKey extends OtpKeyMaterial {
  keyPem: string;
  pem: PemPair;
  certFile: string;
  keyFile: string;
}

export interface TestDirectory {
  dir: string;
  slapd: RunningSlapd;
  seed: SeedResult;
  oldKey: TestKey;
  newKey: TestKey;
  stop(): Promise<void>;
}

function testKey(dir: string, name: string, cn: string): TestKey {
  const pem = selfSignedCert({ cn });
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pem.certPem);
  writeFileSync(keyFile, pem.keyPem, { mode: 0o600 });
  return { ...keyMaterialFromPem(pem.certPem, pem.keyPem), keyPem: pem.keyPem, pem, certFile, keyFile };
}

export async function startTestDirectory(opts: { users?: number } = {}): Promise<TestDirectory> {
  const dir = mkdtempSync(join(tmpdir(), 'adc-lab-dir-'));
  const oldKey = testKey(dir, 'otp-old', 'OTP encryption 2024');
  const newKey = testKey(dir, 'otp-new', 'OTP encryption 2026');
  let slapd: RunningSlapd | undefined;
  try {
    slapd = await startSlapd({ dir: join(dir, 'slapd') });
    const seed = await seedUsers(slapd, { count: opts.users ?? 40, oldKey });
    const running = slapd;
    return {
      dir,
      slapd: running,
      seed,
      oldKey,
      newKey,
      stop: async () => {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await slapd?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Wait (up to about 10 s) until a restarted slapd at `url` accepts a bind again. */
export async function waitForBind(url: string, dn: string, password: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const c = new Client({ url, connectTimeout: 500 });
    try {
      await c.bind(dn, password);
      return;
    } catch {
      await sleep(25);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }
  throw new Error(`slapd at ${url} did not come back`);
}

/** A simulated appliance's preload: the old key loaded as otp-old and bound, OTP encryption ON. */
export function preloadOldKey(oldKey: TestKey) {
  return {
    files: [
      { name: 'otp-old.pem', content: oldKey.pem.certPem },
      { name: 'otp-old.key', content: oldKey.pem.keyPem },
    ],
    certkeys: [{ certkey: 'otp-old', cert: 'otp-old.pem', key: 'otp-old.key' }],
    userDataEncryptionKeys: ['otp-old'],
    otpEncryption: 'ON' as const,
  };
}
