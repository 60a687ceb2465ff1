// Once per test run, before any test file: the pool of RSA keys every lab of the run takes its
// keys from (src/lab/pki.ts says why), made on every core at once, and removed at the end.
import { generateKeyPair } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KEY_POOL_ENV, POOL_KEY_BITS } from '../src/lab/pki.js';

/** More than any test makes in a row (a lab makes six; the fleet tests start three labs). */
const POOL_SIZE = 40;

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'adc-test-keys-'));
  const keys = await Promise.all(
    Array.from({ length: POOL_SIZE }, () =>
      promisify(generateKeyPair)('rsa', { modulusLength: POOL_KEY_BITS }).then(({ privateKey }) => privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    ),
  );
  const file = join(dir, 'keys.pem');
  writeFileSync(file, keys.join(''), { mode: 0o600 });
  process.env[KEY_POOL_ENV] = file;
  return () => rmSync(dir, { recursive: true, force: true });
}
