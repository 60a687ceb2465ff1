// loadKeyFrom takes its environment and prompt from the caller: otptool hands in its own io, the
// CLI this process's. These check that nothing is read from process.env or a terminal behind the
// caller's back, and that a missing passphrase is asked for only when a prompt is given.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadKeyFrom, loadKeyMaterial } from '../../src/otp/index.js';
import { makeOpensslFixtures, type OpensslFixtures } from '../helpers/openssl-fixtures.js';

let fx: OpensslFixtures;
let expected: string;
beforeAll(async () => {
  fx = makeOpensslFixtures();
  expected = (await loadKeyMaterial({ cert: fx.cert, key: fx.key })).kidText;
});
afterAll(() => fx.cleanup());

it('reads the passphrase from the environment it is given, not from process.env', async () => {
  process.env['KS_PASS'] = 'not-the-passphrase';
  try {
    const km = await loadKeyFrom({ cert: fx.pfx, passphraseEnv: 'KS_PASS' }, '-cert_path', { env: { KS_PASS: fx.passphrase } });
    expect(km.kidText).toBe(expected);
    await expect(loadKeyFrom({ cert: fx.pfx, passphraseEnv: 'KS_PASS' }, '-cert_path', { env: {} })).rejects.toThrow(/^-cert_path passphrase: environment variable KS_PASS is not set or empty$/);
  } finally {
    delete process.env['KS_PASS'];
  }
});

it('asks for a missing passphrase only when given a prompt, naming the file it asks for', async () => {
  const asked: string[] = [];
  const km = await loadKeyFrom({ cert: fx.cert, key: fx.pkcs8EncryptedKey }, '--to-cert', {
    env: {},
    promptSecret: async (q) => {
      asked.push(q);
      return fx.passphrase;
    },
  });
  expect(km.kidText).toBe(expected);
  expect(asked).toEqual([`passphrase for ${fx.cert}`]);

  const err = await loadKeyFrom({ cert: fx.cert, key: fx.pkcs8EncryptedKey }, '--to-cert', { env: {} }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).toMatch(/encrypted.*passphrase/);
  expect((err as Error).message).not.toContain(fx.passphrase);
});

it('names the option when no certificate is given', async () => {
  await expect(loadKeyFrom({}, '--from-cert', { env: {} })).rejects.toThrow(/^--from-cert: no certificate given$/);
});
