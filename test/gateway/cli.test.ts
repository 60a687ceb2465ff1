// The logon-check command without a child process: inputs, exit codes and what it prints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { registerLogonCheck } from '../../src/cli/logon-check.js';
import { runLogonCheck, type LogonCheckArgs } from '../../src/cli/logon-check-gateway.js';
import { InputError } from '../../src/errors.js';
import { encryptValue, keyMaterialFromPem } from '../../src/otp/index.js';
import { selfSignedCert } from '../../src/lab/pki.js';
import { newAcceptedSteps } from '../../src/gateway/index.js';
import { fakeClock } from './clock.js';
import { authResponse, LOGIN_FIELDS, sendXml, startFakeGateway, type FakeGateway } from './fake-gateway.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
const PASSWORD = 'Cli-Pa55word!';
const env = { password: 'LC_TEST_PASSWORD', secret: 'LC_TEST_SECRET', value: 'LC_TEST_VALUE' };
let gw: FakeGateway;
let dir: string;
let certFile: string;
let keyFile: string;

// Fresh step memory and a clock whose waits pass instantly: checks in a row must not wait 30 s.
const timing = () => ({ clock: fakeClock(), acceptedSteps: newAcceptedSteps() });

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

beforeAll(async () => {
  gw = await startFakeGateway({
    '/nf/auth/getAuthenticationRequirements.do': (_q, res) => sendXml(res, authResponse({ result: 'more-info', fields: LOGIN_FIELDS })),
    '/nf/auth/doAuthentication.do': (q, res) =>
      sendXml(
        res,
        q.form['passwd'] === PASSWORD ? authResponse({ result: 'success' }) : authResponse({ result: 'more-info', fields: LOGIN_FIELDS, error: 'Incorrect user name or password.' }),
        q.form['passwd'] === PASSWORD ? ['NSC_AAAC=s; Path=/'] : [],
      ),
    '/cgi/logout': (_q, res) => {
      res.writeHead(200);
      res.end();
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'logon-check-cli-'));
  const pem = selfSignedCert({ cn: 'otp cli' });
  certFile = join(dir, 'otp.pem');
  keyFile = join(dir, 'otp.key');
  writeFileSync(certFile, pem.certPem);
  writeFileSync(keyFile, pem.keyPem, { mode: 0o600 });
  process.env[env.password] = PASSWORD;
  process.env[env.secret] = SECRET.toLowerCase();
  process.env[env.value] = encryptValue([{ name: 'phone', secret: SECRET }], keyMaterialFromPem(pem.certPem, pem.keyPem));
});

afterAll(async () => {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
  for (const v of Object.values(env)) delete process.env[v];
});

const base = (): LogonCheckArgs => ({ gateway: gw.url, user: 'canary', passwordEnv: env.password, flow: 'auto' });

describe('logon-check command', () => {
  it('exits 0 and prints the result as JSON, without the password or the passcode', async () => {
    const c = capture();
    const code = await runLogonCheck({ ...base(), totpSecretEnv: env.secret, json: true }, c.io, timing());
    expect(code).toBe(0);
    const result = JSON.parse(c.out.join('')) as Record<string, unknown>;
    expect(result).toMatchObject({ outcome: 'ok', flow: 'nfactor', gatewayUrl: gw.url, loggedOff: true });
    const posted = gw.seen.at(-2)?.form['passwd1'] ?? '';
    expect(posted).toMatch(/^\d{6}$/);
    expect(c.out.join('') + c.err.join('')).not.toContain(PASSWORD);
    expect(c.out.join('') + c.err.join('')).not.toContain(posted);
  });

  it('reads the passcode from a directory value with --cert/--key and names the KID', async () => {
    const c = capture();
    const code = await runLogonCheck({ ...base(), directoryValueEnv: env.value, cert: certFile, key: keyFile }, c.io, timing());
    expect(code).toBe(0);
    expect(c.out.join('')).toMatch(/^ok: .* device under KID /);
  });

  it('exits 1 on a refused logon', async () => {
    process.env['LC_TEST_WRONG'] = 'not-the-password';
    const c = capture();
    const code = await runLogonCheck({ ...base(), passwordEnv: 'LC_TEST_WRONG', totpSecretEnv: env.secret }, c.io, timing());
    delete process.env['LC_TEST_WRONG'];
    expect(code).toBe(1);
    expect(c.out.join('')).toMatch(/^FAILED \(wrong-password\): /);
  });

  it('refuses bad input as InputError (exit 2) before contacting the gateway', async () => {
    const before = gw.seen.length;
    const c = capture();
    await expect(runLogonCheck(base(), c.io, timing())).rejects.toThrow(/no passcode source/);
    await expect(runLogonCheck({ ...base(), directoryValueEnv: env.value }, c.io, timing())).rejects.toThrow(/needs --cert/);
    process.env['LC_TEST_BAD'] = 'not base32!';
    await expect(runLogonCheck({ ...base(), totpSecretEnv: 'LC_TEST_BAD' }, c.io, timing())).rejects.toThrow(/not Base32/);
    delete process.env['LC_TEST_BAD'];
    await expect(runLogonCheck({ ...base(), totpSecretEnv: env.secret, fingerprint: 'abc' }, c.io, timing())).rejects.toThrow(InputError);
    await expect(runLogonCheck({ ...base(), totpSecretEnv: env.secret, passwordEnv: 'LC_TEST_UNSET' }, c.io, timing())).rejects.toThrow(/LC_TEST_UNSET is not set/);
    await expect(runLogonCheck({ ...base(), gateway: 'ftp://x', totpSecretEnv: env.secret }, c.io, timing())).rejects.toSatisfy((e: unknown) => e instanceof InputError && e.exitCode === 2);
    expect(gw.seen.length).toBe(before);
  });
});

describe('logon-check command line', () => {
  async function parse(args: string[]): Promise<number> {
    let code = -1;
    const cli = yargs(['logon-check', '--gateway', gw.url, '--user', 'canary', ...args])
      .exitProcess(false)
      .strict()
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      });
    registerLogonCheck(cli, (c) => (code = c));
    await cli.parseAsync();
    return code;
  }

  it('maps each flag to its input (every case here stops before a request)', async () => {
    const before = gw.seen.length;
    process.env['LC_TEST_BAD'] = 'not base32!';
    await expect(parse(['--password-env', env.password, '--totp-secret-env', 'LC_TEST_BAD'])).rejects.toThrow(/LC_TEST_BAD is not Base32/);
    delete process.env['LC_TEST_BAD'];
    await expect(parse(['--password-env', 'LC_TEST_UNSET', '--totp-secret-env', env.secret])).rejects.toThrow(/LC_TEST_UNSET is not set/);
    await expect(parse(['--password-env', env.password, '--directory-value-env', env.value])).rejects.toThrow(/needs --cert/);
    await expect(parse(['--password-env', env.password, '--directory-value-env', env.value, '--cert', join(dir, 'missing.pem')])).rejects.toThrow(/missing\.pem/);
    await expect(parse(['--password-env', env.password, '--totp-secret-env', env.secret, '--ca', join(dir, 'otp.key')])).rejects.toThrow(/no PEM certificate/);
    expect(gw.seen.length).toBe(before);
  });

  it('refuses contradictory options', async () => {
    await expect(parse(['--password-env', env.password, '--totp-secret-env', env.secret, '--directory-value-env', env.value])).rejects.toThrow(/mutually exclusive/);
    await expect(parse(['--password-env', env.password, '--totp-secret-env', env.secret, '--insecure', '--ca', certFile])).rejects.toThrow(/mutually exclusive/);
    await expect(parse(['--password-env', env.password, '--totp-secret-env', env.secret, '--flow', 'saml'])).rejects.toThrow(/Invalid values/);
  });
});
