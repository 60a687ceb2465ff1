// The vendor command line as operators type it: spelling, translation, refusals (pure, no I/O).
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONCURRENCY } from '../../src/rekey/defaults.js';
import { bindHint, directoryUrl, readOptions, translate, usage, type OtptoolSettings } from '../../src/otptool/index.js';

const base = ['-Host', 'dc1.contoso.local', '-username', 'svc@contoso.local', '-search_base', 'DC=contoso,DC=local', '-cert_path', 'old.merged'];

function settings(tokens: string[]): OtptoolSettings {
  const s = translate(tokens);
  if (s === 'help') throw new Error('help');
  return s;
}

function refusal(tokens: string[]): string {
  try {
    translate(tokens);
  } catch (err) {
    expect((err as { exitCode?: number }).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('reading the vendor options', () => {
  it("takes the issue's command line as typed", () => {
    const s = settings([
      '-Host',
      'dc1.contoso.local',
      '-Port',
      '636',
      '-username',
      'svc@contoso.local',
      '-search_base',
      'DC=contoso,DC=local',
      '-search_filter',
      '(&(objectClass=user)(memberOf=CN=Testgroup1,OU=Groups,DC=contoso,DC=local))',
      '-source_attribute',
      'CitrixOTP',
      '-operation',
      '2',
      '-cert_path',
      'OTPEncryption.merged',
      '-new_cert_path',
      'OTPEncryption2024.merged',
    ]);
    expect(s).toMatchObject({
      operation: 2,
      url: 'ldaps://dc1.contoso.local:636',
      bindName: 'svc@contoso.local',
      base: 'DC=contoso,DC=local',
      filter: '(&(objectClass=user)(memberOf=CN=Testgroup1,OU=Groups,DC=contoso,DC=local))',
      attribute: 'CitrixOTP',
      cert: { path: 'OTPEncryption.merged' },
      newCert: { path: 'OTPEncryption2024.merged' },
      dryRun: false,
      logFile: 'app.log',
      warnings: [],
    });
  });

  it('accepts any case, one or two dashes, and -name=value', () => {
    const a = settings([...base, '-OPERATION', '0']);
    const b = settings(['--host', 'dc1.contoso.local', '--USERNAME', 'svc@contoso.local', '--Search_Base=DC=contoso,DC=local', '--cert-path', 'old.merged', '--operation=0']);
    expect(b).toEqual(a);
  });

  it('passes a UPN bind name through unchanged (Active Directory takes it as given)', () => {
    expect(settings([...base, '-operation', '1']).bindName).toBe('svc@contoso.local');
    expect(settings([...base.slice(0, 2), '-username', 'CN=svc otp,OU=Service,DC=contoso,DC=local', ...base.slice(4), '-operation', '1']).bindName).toBe('CN=svc otp,OU=Service,DC=contoso,DC=local');
  });

  it('passes a nested-group filter through as given', () => {
    const f = '(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=CN=OTP Users,OU=Groups,DC=contoso,DC=local))';
    expect(settings([...base, '-operation', '0', '-search_filter', f]).filter).toBe(f);
  });

  it('-Port: 636 and 3269 are LDAPS, others plain LDAP (with a warning), 636 by default; a URL host is taken as is', () => {
    expect(directoryUrl('dc1', '636')).toBe('ldaps://dc1:636');
    expect(directoryUrl('dc1', '3269')).toBe('ldaps://dc1:3269');
    expect(directoryUrl('dc1', undefined)).toBe('ldaps://dc1:636');
    expect(directoryUrl('ldaps://127.0.0.1:10636/', undefined)).toBe('ldaps://127.0.0.1:10636');
    const plain = settings([...base, '-operation', '0', '-Port', '389']);
    expect(plain.url).toBe('ldap://dc1.contoso.local:389');
    expect(plain.warnings.join()).toMatch(/plain LDAP.*-Port 636/);
    expect(settings([...base, '-operation', '0', '-Port', '389', '-start_tls']).warnings).toEqual([]);
  });

  it('our safety options', () => {
    const s = settings([...base, '-operation', '1', '-dry_run', '-yes', '-backup', 'b.jsonl', '-log', 'x.log', '-ca', 'ca.pem', '-password_env', 'MY_PW', '-target_attribute', 'extensionAttribute1']);
    expect(s).toMatchObject({
      dryRun: true,
      yes: true,
      backupFile: 'b.jsonl',
      logFile: 'x.log',
      caFile: 'ca.pem',
      passwordEnv: 'MY_PW',
      passwordEnvGiven: true,
      targetAttribute: 'extensionAttribute1',
    });
    expect(settings([...base, '-operation', '1']).passwordEnv).toBe('ADC_OTPTOOL_PASSWORD');
    expect(settings([...base, '-operation', '2', '-new_cert_path', 'n.pfx', '-new_cert_passphrase_env', 'NEW_PASS']).newCert).toEqual({ path: 'n.pfx', passphraseEnv: 'NEW_PASS' });
  });

  it('-concurrency: the default is the one -help states, the same as directory rekey', () => {
    expect(settings([...base, '-operation', '2', '-new_cert_path', 'n.pfx']).concurrency).toBe(DEFAULT_CONCURRENCY);
    expect(usage()).toContain(`writer connections (default ${DEFAULT_CONCURRENCY})`);
    expect(settings([...base, '-operation', '2', '-new_cert_path', 'n.pfx', '-concurrency', '3']).concurrency).toBe(3);
  });

  it('-help', () => {
    expect(translate(['-help'])).toBe('help');
    expect(translate(['--HELP'])).toBe('help');
    expect(usage()).toMatch(/-search_base/);
  });
});

describe('refusals: exit 2, naming the option, never echoing a value', () => {
  it('-password is refused and its value never repeated', () => {
    for (const spelling of ['-password', '--password', '-Password', '-pwd', '-passwd']) {
      const msg = refusal([...base, '-operation', '2', spelling, 'Hunter2-s3cret']);
      expect(msg).toMatch(/never taken on the command line/);
      expect(msg).toMatch(/ADC_OTPTOOL_PASSWORD/);
      expect(msg).not.toContain('Hunter2-s3cret');
    }
    expect(refusal([...base, '-password=Hunter2-s3cret'])).not.toContain('Hunter2-s3cret');
  });

  it('a stray value or an unknown option is named by position or name, not by content', () => {
    const stray = refusal([...base, '-operation', '2', 'Hunter2-s3cret']);
    expect(stray).toMatch(/argument 11 is a value with no option/);
    expect(stray).not.toContain('Hunter2-s3cret');
    expect(refusal([...base, '-operation', '2', '-searchbase', 'x'])).toMatch(/-searchbase: unknown option \(did you mean -search_base\?\)/);
    expect(refusal([...base, '-password_env', 'Hunter2 s3cret!'])).not.toContain('Hunter2');
  });

  it('missing or bad values say what is expected', () => {
    expect(refusal(base)).toMatch(/-operation is required/);
    expect(refusal([...base, '-operation', '3'])).toMatch(/expected 0 \(encrypt\), 1 \(decrypt\) or 2/);
    expect(refusal([...base, '-operation', '2'])).toMatch(/-new_cert_path is required/);
    expect(refusal([...base, '-operation', '0', '-new_cert_path', 'n.pem'])).toMatch(/-new_cert_path is for operation 2/);
    expect(refusal(['-Host', '-Port', '636'])).toMatch(/-Host needs a value/);
    expect(refusal([...base, '-operation', '0', '-Port', 'ldaps'])).toMatch(/-Port "ldaps" is not a port/);
    expect(refusal([...base, '-operation', '0', '-source_attribute', '(cn=*)'])).toMatch(/not an LDAP attribute name/);
    expect(refusal([...base, '-operation', '0', '-target_attribute', 'userparameters'])).toMatch(/is the source attribute/);
    expect(refusal([...base, '-operation', '0', '-insecure'])).toMatch(/-ca FILE/);
    expect(refusal([...base, '-operation', '0', '-operation', '1'])).toMatch(/given twice/);
    expect(refusal([...base, '-operation', '0', '-Port', '636', '-start_tls'])).toMatch(/already LDAPS/);
  });

  it('an invalid-credentials reply says what to try for the name given', () => {
    expect(bindHint('svc@contoso.local')).toMatch(/UPN: Active Directory accepts it as given.*only take a DN/);
    expect(bindHint('svc-otp')).toMatch(/neither a DN nor a UPN/);
    expect(bindHint('CN=svc,DC=contoso,DC=local')).toMatch(/check the DN .* and the password/);
  });

  it('reads options without treating a value that starts with a dash as the next option', () => {
    expect(readOptions(['-search_filter', '-weird-but-valid'])).toEqual({ search_filter: '-weird-but-valid' });
  });
});
