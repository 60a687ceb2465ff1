import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOpensslFixtures, opensslOtp, type OpensslFixtures } from '../helpers/openssl-fixtures.js';
import { runCli } from '../helpers/cli.js';

const S1 = 'JBSWY3DPEHPK3PXPJBSWY3DPEH';
let fx: OpensslFixtures;
beforeAll(() => {
  fx = makeOpensslFixtures();
});
afterAll(() => fx.cleanup());

describe('adc-cutover otp', () => {
  it('code --secret-env: a value that is not Base32 is bad input (exit 2, names the variable), not an internal error', async () => {
    const r = await runCli(['otp', 'code', '--secret-env', 'ADC_TEST_TOTP'], { env: { ADC_TEST_TOTP: 'not-a-base32-secret!' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TOTP secret in ADC_TEST_TOTP is not Base32/);
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(r.stderr).not.toContain('not-a-base32-secret');
    const ok = await runCli(['otp', 'code', '--secret-env', 'ADC_TEST_TOTP', '--json'], { env: { ADC_TEST_TOTP: 'JBSWY3DPEHPK3PXP' } });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual([expect.objectContaining({ code: expect.stringMatching(/^\d{6}$/) })]);
  });

  it('encrypt writes a value that the independent openssl implementation decrypts', async () => {
    const r = await runCli(['otp', 'encrypt', `#@phone=${S1}&,`, '--cert', fx.cert, '--key', fx.key]);
    expect(r.code).toBe(0);
    const dev = (JSON.parse(r.stdout) as { otpdata: { devices: { phone: string } } }).otpdata.devices.phone;
    expect(dev.split('.')[0]).toBe(opensslOtp(['kid', fx.cert]));
    expect(JSON.parse(opensslOtp(['decrypt', fx.cert, fx.key, dev]))).toEqual({ secret: S1 });
  });

  it('decrypt --json reads a value openssl wrote, from stdin, with a PFX and a passphrase from the environment', async () => {
    const dev = opensslOtp(['encrypt', fx.cert, fx.key, 'a1a2a3a4a5a6a7a8a9aaabac', `{"secret":"${S1}"}`]);
    const r = await runCli(['otp', 'decrypt', '-', '--cert', fx.pfx, '--passphrase-env', 'PFX_PASS', '--json'], {
      input: `{"otpdata":{"devices":{"phone":"${dev}"}}}\n`,
      env: { PFX_PASS: fx.passphrase },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ format: 'encrypted', devices: [{ name: 'phone', secret: S1, kid: opensslOtp(['kid', fx.cert]) }] });
  });

  it('rekey moves a value to another certificate; inspect shows KIDs and no secret', async () => {
    const enc = await runCli(['otp', 'encrypt', `#@phone=${S1}&,`, '--cert', fx.merged]);
    const re = await runCli(['otp', 'rekey', enc.stdout.trim(), '--from-cert', fx.merged, '--to-cert', fx.otherCert, '--to-key', fx.otherKey]);
    expect(re.code).toBe(0);
    const ins = await runCli(['otp', 'inspect', re.stdout.trim(), '--json']);
    expect(JSON.parse(ins.stdout)).toMatchObject({ format: 'encrypted', kids: [opensslOtp(['kid', fx.otherCert])] });
    expect(ins.stdout).not.toContain(S1);
    const code = await runCli(['otp', 'code', re.stdout.trim(), '--cert', fx.otherCert, '--key', fx.otherKey, '--json']);
    expect((JSON.parse(code.stdout) as { code: string }[])[0].code).toMatch(/^\d{6}$/);
  });

  it.each([
    ['a malformed value', ['otp', 'decrypt', '#@broken', '--cert', 'CERT', '--key', 'KEY'], /does not end with "&,"/],
    ['the wrong certificate', ['otp', 'decrypt', 'VALUE', '--cert', 'OTHER', '--key', 'OTHERKEY'], /cannot decrypt with this certificate/],
    ['an unreadable file', ['otp', 'decrypt', 'VALUE', '--cert', '/nonexistent/x.pem'], /\/nonexistent\/x\.pem: cannot read/],
    ['a wrong passphrase', ['otp', 'decrypt', 'VALUE', '--cert', 'PFX', '--passphrase-env', 'PFX_PASS'], /wrong passphrase/],
    ['a passphrase variable that is not set', ['otp', 'decrypt', 'VALUE', '--cert', 'PFX', '--passphrase-env', 'UNSET_VAR_X'], /UNSET_VAR_X is not set/],
  ])('exits 2 with a clear message, no stack trace, on %s', async (_name, args, msg) => {
    const enc = await runCli(['otp', 'encrypt', `#@phone=${S1}&,`, '--cert', fx.merged]);
    const sub = (a: string) => ({ CERT: fx.cert, KEY: fx.key, OTHER: fx.otherCert, OTHERKEY: fx.otherKey, PFX: fx.pfx, VALUE: enc.stdout.trim() })[a] ?? a;
    const r = await runCli(args.map(sub), { env: { PFX_PASS: 'not-the-passphrase' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
