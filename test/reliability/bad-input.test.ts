// Bad input of every kind an operator (or a hostile directory, or a broken appliance) can hand
// the tool: malformed playbooks and inventories, wrong certificates and passphrases, filter
// injection through parameters, hostile attribute values, NITRO replies that are not JSON. Each
// must get a clear error (a config error names file, line and field) and change nothing: after
// each, every appliance and every directory value is compared with the snapshot taken before.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCert } from '../../src/lab/pki.js';
import { CLI, runCli, type CliResult } from '../helpers/cli.js';
import { CUTOVER, startE2eLab, type E2eLab, type Snapshot } from '../helpers/e2e.js';
import { applianceCount, cutoverWithoutLogonChecks, deriveInventory, jsonEvents } from './check.js';
import { FigureLog } from './figures.js';

let lab: E2eLab;
let before: Snapshot;
let playbook: string;
const figures = new FigureLog(
  'bad-input',
  'Bad input: refused clearly, nothing changed',
  'Each input is given to `adc-cutover run` (or the command named) against the lab (40 users, 2 appliances); after each, every appliance and every directory value is compared with the snapshot taken before. Config errors must name the file, the line and the field.',
);

beforeAll(async () => {
  lab = await startE2eLab({ users: 40, appliances: 2 });
  before = await lab.snapshot();
  playbook = cutoverWithoutLogonChecks(lab.root);
}, 60_000);
afterAll(async () => {
  figures.write();
  await lab?.stop();
});

/** Runs, then proves nothing changed; records the row. `home`: another state directory (ADC_CUTOVER_HOME). */
async function refused(what: string, kind: string, args: string[], expectCode: number | number[], says: RegExp, home?: string): Promise<CliResult> {
  const r = home ? await runCli(args, { env: { ADC_CUTOVER_HOME: home }, cwd: lab.root, timeoutMs: 60_000 }) : await lab.cli(args, { timeoutMs: 60_000 });
  const after = await lab.snapshot();
  const codes = Array.isArray(expectCode) ? expectCode : [expectCode];
  expect(codes, `exit ${r.code}: ${r.stderr}\n${r.stdout.slice(-1500)}`).toContain(r.code);
  expect(r.stderr + r.stdout).toMatch(says);
  expect(r.stderr).not.toMatch(/internal error|TypeError|RangeError|at .*\.js:\d+/);
  expect(after).toEqual(before);
  const lines = (r.stderr + r.stdout).split('\n');
  const said = lines.find((l) => says.test(l) && /adc-cutover:|fail|refus|match/i.test(l)) ?? lines.find((l) => l.startsWith('adc-cutover:')) ?? '';
  figures.add({
    case: what,
    kind,
    outcome: said.trim().replaceAll(lab.root, '…').slice(0, 180),
    exitCode: r.code,
    entriesChecked: Object.keys(after.directory).length,
    lost: 0,
    appliancesChecked: applianceCount(after),
  });
  return r;
}

const invText = () => readFileSync(lab.inventory, 'utf8');
function writeInv(name: string, text: string): string {
  const f = join(lab.labDir, name);
  writeFileSync(f, text);
  return f;
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('malformed inventories and playbooks: file, line, field', () => {
  const cases: { what: string; edit: (t: string) => string; field: string; needle: string }[] = [
    { what: 'unknown key in an appliance', edit: (t) => t.replace('    username: nsroot', '    username: nsroot\n    pasword: x'), field: 'appliances\\[0\\]', needle: 'pasword' },
    { what: 'literal password', edit: (t) => t.replace(/password: \$\{file:secrets\/adc1\.password\}/, 'password: hunter2hunter2'), field: 'appliances\\[0\\]\\.password', needle: 'hunter2hunter2' },
    { what: 'NITRO URL that is not a URL', edit: (t) => t.replace(/nitro: https:\/\/127\.0\.0\.1:(\d+)/, 'nitro: 127.0.0.1:$1'), field: 'appliances\\[0\\]\\.nitro', needle: 'nitro: 127.0.0.1' },
    { what: 'negative timeoutMs', edit: (t) => t.replace(/timeoutMs: \d+/, 'timeoutMs: -5'), field: 'appliances\\[0\\]\\.timeoutMs', needle: 'timeoutMs: -5' },
    {
      what: 'LDAP filter smuggled in as the attribute name',
      edit: (t) => t.replace(/attribute: userParameters/, 'attribute: "userParameters)(cn=*"'),
      field: 'directory\\.attribute',
      needle: 'userParameters)(cn=*',
    },
    {
      what: 'certkey name longer than 31 characters',
      edit: (t) => t.replace(/certkey: otp-old/, 'certkey: otp-old-with-a-name-far-too-long-for-an-adc'),
      field: 'certificates\\.old\\.certkey',
      needle: 'far-too-long',
    },
    {
      what: 'pageSize beyond the limit',
      edit: (t) => t.replace(/attribute: userParameters/, 'attribute: userParameters\n  pageSize: 999999'),
      field: 'directory\\.pageSize',
      needle: 'pageSize: 999999',
    },
    { what: 'YAML syntax error (bad indentation)', edit: (t) => t.replace('    username: nsroot', '      username: nsroot\n   bad: [1, 2'), field: '', needle: 'bad: [1, 2' },
    { what: 'a key given twice', edit: (t) => t.replace('    username: nsroot', '    username: nsroot\n    username: root'), field: '', needle: 'username: root' },
  ];
  it.each(cases)(
    'inventory: $what',
    async ({ what, edit, field, needle }) => {
      const text = edit(invText());
      expect(text).not.toBe(invText());
      const file = writeInv('inventory-bad.yaml', text);
      // The line is the offending one, or (YAML parse errors, found where the parser gives up) within two of it.
      const r = await refused(`inventory: ${what}`, 'malformed inventory', ['run', playbook, '-i', file, '--yes'], 2, new RegExp(`inventory-bad\\.yaml:\\d+${field ? ` ${field}` : ''}`));
      const line = Number(new RegExp(`inventory-bad\\.yaml:(\\d+)`).exec(r.stderr)![1]);
      expect(Math.abs(line - lineOf(text, needle)), r.stderr).toBeLessThanOrEqual(field ? 0 : 2);
    },
    60_000,
  );

  const pbCases: { what: string; text: string; field: string; needle: string; sets?: string[] }[] = [
    { what: 'unknown step', text: 'name: x\nsteps:\n  - uses: preflight\n  - uses: frobnicate\n', field: 'steps\\[1\\]\\.uses', needle: 'frobnicate' },
    { what: 'unknown mode', text: 'name: x\nparams:\n  mode: sideways\nsteps:\n  - uses: preflight\n', field: 'params\\.mode', needle: 'sideways' },
    { what: 'no steps', text: 'name: x\nsteps: []\n', field: 'steps', needle: 'steps' },
    { what: '--set concurrency=0', text: 'name: x\nsteps:\n  - uses: preflight\n', field: 'params\\.concurrency', needle: 'name: x', sets: ['concurrency=0'] },
    { what: 'a tab for indentation', text: 'name: x\nsteps:\n\t- uses: preflight\n', field: '', needle: '\t- uses' },
  ];
  it.each(pbCases)(
    'playbook: $what',
    async ({ what, text, field, sets }) => {
      const file = join(lab.root, 'playbook-bad.yaml');
      writeFileSync(file, text);
      await refused(
        `playbook: ${what}`,
        'malformed playbook',
        ['run', file, '-i', lab.inventory, '--yes', ...(sets ?? []).flatMap((s) => ['--set', s])],
        2,
        new RegExp(`playbook-bad\\.yaml(:\\d+)?${field ? ` ${field}` : ''}`),
      );
    },
    60_000,
  );
});

describe('certificates and passphrases', () => {
  const certDir = () => join(lab.labDir, 'bad-certs');
  beforeAll(() => {
    execFileSync('mkdir', ['-p', certDir()]);
    const expired = selfSignedCert({ cn: 'OTP encryption expired', notBefore: new Date(Date.now() - 3 * 365 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
    writeFileSync(join(certDir(), 'expired.pem'), expired.certPem);
    writeFileSync(join(certDir(), 'expired.key'), expired.keyPem, { mode: 0o600 });
    const other = selfSignedCert({ cn: 'OTP encryption other' });
    writeFileSync(join(certDir(), 'other.pem'), other.certPem);
    writeFileSync(join(certDir(), 'other.key'), other.keyPem, { mode: 0o600 });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=OTP encryption EC',
        '-days',
        '30',
        '-keyout',
        join(certDir(), 'ec.key'),
        '-out',
        join(certDir(), 'ec.pem'),
      ],
      { stdio: 'ignore' },
    );
    execFileSync('openssl', ['pkey', '-in', lab.status.certs.new.key, '-aes256', '-passout', 'pass:the-right-passphrase', '-out', join(certDir(), 'new-encrypted.key')], { stdio: 'ignore' });
    writeFileSync(join(certDir(), 'wrong-pass'), 'not-the-passphrase\n', { mode: 0o600 });
    writeFileSync(join(certDir(), 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  });
  const newCert = (fields: Record<string, unknown>) => (doc: Record<string, unknown>) => {
    const certs = doc['certificates'] as Record<string, Record<string, unknown>>;
    certs['new'] = { ...certs['new'], ...fields };
  };
  const cases: { what: string; edit: () => (doc: Record<string, unknown>) => void; says: RegExp }[] = [
    { what: 'new key does not match the new certificate', edit: () => newCert({ key: lab.status.certs.old.key }), says: /match/i },
    {
      what: 'old certificate is not the one bound on the appliances',
      edit: () => (doc) => {
        const certs = doc['certificates'] as Record<string, Record<string, unknown>>;
        certs['old'] = { ...certs['old'], cert: join(certDir(), 'other.pem'), key: join(certDir(), 'other.key') };
      },
      says: /does not hold certificates\.old/,
    },
    { what: 'old and new are the same certificate', edit: () => newCert({ cert: lab.status.certs.old.cert, key: lab.status.certs.old.key }), says: /same certificate/i },
    {
      what: 'encrypted key, wrong passphrase',
      edit: () => newCert({ key: join(certDir(), 'new-encrypted.key'), passphrase: `\${file:${join(certDir(), 'wrong-pass')}}` }),
      says: /passphrase|decrypt/i,
    },
    { what: 'encrypted key, no passphrase given', edit: () => newCert({ key: join(certDir(), 'new-encrypted.key') }), says: /passphrase|encrypted/i },
    { what: 'expired new certificate', edit: () => newCert({ cert: join(certDir(), 'expired.pem'), key: join(certDir(), 'expired.key') }), says: /expired/i },
    { what: 'EC (non-RSA) new certificate', edit: () => newCert({ cert: join(certDir(), 'ec.pem'), key: join(certDir(), 'ec.key') }), says: /RSA/ },
    { what: 'garbage in a PEM envelope', edit: () => newCert({ cert: join(certDir(), 'garbage.pem') }), says: /certificate/i },
    { what: 'certificate file missing', edit: () => newCert({ cert: join(certDir(), 'nope.pem') }), says: /nope\.pem/ },
  ];
  it.each(cases)(
    '$what',
    async ({ what, edit, says }) => {
      const inv = deriveInventory(lab, 'inventory-bad-cert.yaml', edit());
      await refused(what, 'certificate', ['run', playbook, '-i', inv, '--yes'], 2, says);
    },
    60_000,
  );
});

describe('LDAP filter injection through parameters', () => {
  const logonOnly = () => {
    const f = join(lab.root, 'logon-only.yaml');
    writeFileSync(f, 'name: logon-only\nsteps:\n  - uses: logon-check\n    with: { phase: before }\n');
    return f;
  };
  // Without its TOTP secret in the inventory the canary's device is read from the directory by
  // sAMAccountName: a pattern in the name must match itself only (escaped), never "canary".
  it.each(['canar*', '*)(sAMAccountName=canary', 'canary)(|(objectClass=*'])(
    'canary user %j matches nothing',
    async (user) => {
      const inv = deriveInventory(lab, 'inventory-inject.yaml', (doc) => {
        // The single `canary:` form, which inventories written before the pool still use.
        const c = (doc['canaries'] as Record<string, unknown>[])[0];
        delete doc['canaries'];
        doc['canary'] = c;
        c['user'] = user;
        delete c['totpSecret'];
      });
      await refused(`canary user ${JSON.stringify(user)}`, 'filter injection', ['run', logonOnly(), '-i', inv, '--yes'], [1, 2], /0 entries match/);
    },
    60_000,
  );

  it('directory census --extra-attribute with a filter in it is refused', async () => {
    await refused(
      'directory census --extra-attribute "cn)(objectClass=*"',
      'filter injection',
      censusArgs('--base', lab.status.directory.baseDN, '--extra-attribute', 'cn)(objectClass=*'),
      2,
      /attribute/,
    );
  }, 60_000);
});

/**
 * `directory census` against the lab with the old certificate, then `extra`. The bind password
 * goes through the environment (the refused() runs inherit it), never on the command line.
 */
function censusArgs(...extra: string[]): string[] {
  process.env['RELIABILITY_DIR_PW'] = readFileSync(lab.status.directory.passwordFile, 'utf8').trim();
  const d = lab.status.directory;
  return ['directory', 'census', '--url', d.url, '--bind-dn', d.bindDN, '--password-env', 'RELIABILITY_DIR_PW', '--cert', lab.status.certs.old.cert, '--key', lab.status.certs.old.key, ...extra];
}

async function rootClient(): Promise<Client> {
  const client = new Client({ url: lab.state.slapd.url });
  await client.bind(lab.state.slapd.rootDN, readFileSync(lab.state.slapd.rootPasswordFile, 'utf8').trim());
  return client;
}

/** `adc-cutover otp inspect -` with raw bytes on stdin (runCli only sends text). */
function inspectBytes(value: Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'otp', 'inspect', '-', '--json'], { cwd: lab.root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(value);
  });
}

describe('hostile attribute values', () => {
  it('huge, deeply nested, wrong base64 in the directory: counted unreadable, left byte for byte, the rest moves; rollback exact', async () => {
    const none = lab
      .users()
      .filter((u) => u.kind === 'none')
      .slice(0, 4);
    expect(none.length).toBe(4);
    const single = lab.users().find((u) => u.kind === 'single')!;
    const good = before.directory[single.dn.toLowerCase()][0];
    const hostile: { what: string; value: string }[] = [
      { what: 'huge (256 KiB)', value: `{"otpdata":{"devices":{"x":"${'A'.repeat(256 * 1024)}"}}}` },
      { what: 'JSON nested 50,000 deep', value: `${'['.repeat(50_000)}${']'.repeat(50_000)}` },
      { what: 'wrong base64 in a real device value', value: good.replace(/("[^"]+":")([^".]+)\.([^".]+)\./, '$1$2.***not+base64***.') },
      { what: 'NUL and control characters', value: '{"otpdata":{"devices":{"a\u0000b":"\u0001\u0002"}}}' },
    ];
    expect(hostile[2].value).not.toBe(good);
    const client = await rootClient();
    try {
      for (const [i, h] of hostile.entries()) {
        await client.modify(none[i].dn, new Change({ operation: 'replace', modification: new Attribute({ type: lab.status.directory.attribute, values: [h.value] }) }));
      }
      const seeded = await lab.snapshot();
      const unreadableBefore = (JSON.parse((await lab.cli(['plan', playbook, '-i', lab.inventory, '--json'])).stdout) as { warnings: string[] }).warnings.join('\n');
      expect(unreadableBefore).toMatch(/(\d+) unreadable/);
      const count = Number(/(\d+) unreadable/.exec(unreadableBefore)![1]);
      // The seeded lab has one broken value of its own; the hostile ones add to it.
      expect(count).toBe(1 + hostile.length);

      const r = await lab.cli(['run', playbook, '-i', lab.inventory, '--yes', '--json'], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      const after = await lab.snapshot();
      for (const u of none) expect(after.directory[u.dn.toLowerCase()]).toEqual(seeded.directory[u.dn.toLowerCase()]);
      expect(after.directory[single.dn.toLowerCase()][0]).not.toBe(good);
      const runId = String(jsonEvents(r.stdout).find((e) => e.type === 'run')?.['runId']);
      const undone = await lab.cli(['rollback', runId, '--yes'], { timeoutMs: 60_000 });
      expect(undone.code, undone.stderr).toBe(0);
      expect(await lab.snapshot()).toEqual(seeded);
      for (const h of hostile) {
        figures.add({
          case: `attribute value in the directory: ${h.what}`,
          kind: 'hostile value',
          outcome: 'census: unreadable; run: left byte for byte, the rest re-encrypted; rollback exact',
          exitCode: r.code,
          entriesChecked: Object.keys(after.directory).length * 2,
          lost: 0,
        });
      }
    } finally {
      // Put the directory back as it was for the cases after this one.
      for (const u of none) {
        await client.modify(u.dn, new Change({ operation: 'delete', modification: new Attribute({ type: lab.status.directory.attribute, values: [] }) })).catch(() => undefined);
      }
      await client.unbind();
    }
    expect(await lab.snapshot()).toEqual(before);
  }, 80_000);

  // The attribute's syntax (Directory String, as userParameters is a Unicode string in AD)
  // refuses these, so they cannot sit in the directory; a value handed to the CLI can hold them.
  it.each([{ what: 'non-UTF-8 bytes', value: Buffer.from([0x7b, 0xff, 0xfe, 0x80, 0x22, 0xc3, 0x28, 0x7d]) }])(
    '$what: the directory refuses them; otp inspect says the value is not readable',
    async ({ what, value }) => {
      const client = await rootClient();
      try {
        const u = lab.users().find((x) => x.kind === 'none')!;
        await expect(client.modify(u.dn, new Change({ operation: 'replace', modification: new Attribute({ type: lab.status.directory.attribute, values: [value] }) }))).rejects.toThrow(
          /invalid per syntax/,
        );
      } finally {
        await client.unbind();
      }
      const r = await inspectBytes(value);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(/adc-cutover: .*(not|invalid|unreadable|JSON|format)/i);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(await lab.snapshot()).toEqual(before);
      figures.add({
        case: `attribute value: ${what}`,
        kind: 'hostile value',
        outcome: `slapd refuses it (syntax); otp inspect: exit 2, ${r.stderr.trim().slice(13, 100)}`,
        exitCode: r.code,
        entriesChecked: Object.keys(before.directory).length,
        lost: 0,
      });
    },
    60_000,
  );
});

describe('NITRO replies that are not JSON', () => {
  let server: Server;
  let reply: (res: import('node:http').ServerResponse) => void = () => undefined;
  let breakLogin = false;
  beforeAll(async () => {
    // Logon works (so the client gets to the resources), unless the case breaks the logon too.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (/\/login$/.test(req.url ?? '') && !breakLogin) {
          res
            .writeHead(201, { 'content-type': 'application/json', 'set-cookie': 'NITRO_AUTH_TOKEN=fake-session; Path=/nitro/v1' })
            .end(JSON.stringify({ errorcode: 0, message: 'Done', severity: 'NONE', sessionid: 'fake-session' }));
          return;
        }
        reply(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const replies: { what: string; send: (res: import('node:http').ServerResponse) => void }[] = [
    { what: 'an HTML login page, HTTP 200', send: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Citrix ADC login</body></html>') },
    { what: 'truncated JSON, HTTP 200', send: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errorcode": 0, "sslcertkey": [{"certkey": "otp-') },
    { what: 'a proxy error page, HTTP 502', send: (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>') },
    { what: 'JSON that is not an object, HTTP 200', send: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[1,2,3]') },
    { what: 'an empty body, HTTP 200', send: (res) => res.writeHead(200).end() },
  ];
  it.each([...replies.map((r) => ({ ...r, login: false })), { ...replies[0], what: `${replies[0].what}, to the logon too`, login: true }])(
    '$what: a clear error naming the appliance, nothing changed',
    async ({ what, send, login }) => {
      reply = send;
      breakLogin = login;
      const port = (server.address() as AddressInfo).port;
      const inv = deriveInventory(lab, 'inventory-not-json.yaml', (doc) => {
        const a = (doc['appliances'] as Record<string, unknown>[])[0];
        a['nitro'] = `http://127.0.0.1:${port}`;
        a['tls'] = { insecure: true };
        a['timeoutMs'] = 3000;
      });
      // Named: the appliance, and what was wrong with its reply (never "no such certkey").
      await refused(
        `NITRO reply: ${what}`,
        'not JSON',
        ['run', playbook, '-i', inv, '--yes'],
        2,
        login ? /adc1: .*login .*returned no NITRO_AUTH_TOKEN/ : /502/.test(what) ? /adc1: .*HTTP 502/ : /adc1: .*not NITRO JSON/,
      );
    },
    60_000,
  );
});

describe('refused before any change: step options, logon proof, certkey names, directory search, state home', () => {
  const noCanary = () =>
    deriveInventory(lab, 'inventory-no-canary.yaml', (doc) => {
      delete doc['canary'];
      delete doc['canaries'];
    });
  const writePlaybook = (name: string, text: string) => {
    const f = join(lab.root, name);
    writeFileSync(f, text);
    return f;
  };
  const importOnly = () => writePlaybook('import-only.yaml', 'name: import-only\nsteps:\n  - uses: preflight\n  - uses: import-certkey\n');

  it("the issue's typo: the swap step's `phase: Swap`, --set mode=swap, no canary: exit 2 at that line", async () => {
    const text = readFileSync(CUTOVER, 'utf8').replace('with: { phase: swap }', 'with: { phase: Swap }');
    expect(text).toContain('phase: Swap');
    const file = writePlaybook('cutover-typo.yaml', text);
    // --no-logon-check, so that the missing canary is not what stops it: the typo alone must.
    const r = await refused(
      'playbook: swap step with `phase: Swap` (--set mode=swap, no canary, --no-logon-check)',
      'step option',
      ['run', file, '-i', noCanary(), '--yes', '--set', 'mode=swap', '--no-logon-check'],
      2,
      /cutover-typo\.yaml:\d+ steps\[6\]\.with\.phase: expected overlap or swap, not "Swap"/,
    );
    expect(Number(/cutover-typo\.yaml:(\d+)/.exec(r.stderr)![1])).toBe(lineOf(text, 'phase: Swap'));
  }, 60_000);

  const optionCases: { what: string; step: string; says: RegExp; needle: string }[] = [
    {
      what: 'misspelt option name',
      step: '  - uses: bind-new-key\n    with:\n      phse: swap\n',
      says: /steps\[1\]\.with: bind-new-key has no option phse \(its options: phase\)/,
      needle: 'phse: swap',
    },
    {
      what: 'option on a step that takes none',
      step: '  - uses: unbind-old-key\n    with: { phase: swap }\n',
      says: /steps\[1\]\.with: unbind-old-key has no option phase \(it takes no options\)/,
      needle: 'with: { phase: swap }',
    },
    {
      what: 'unknown rekey job',
      step: '  - uses: rekey-directory\n    with: { job: encrypt }\n',
      says: /steps\[1\]\.with\.job: expected rekey or encrypt-legacy, not "encrypt"/,
      needle: 'job: encrypt',
    },
    {
      what: "another step's option",
      step: '  - uses: import-certkey\n    with: { requireOldBound: false }\n',
      says: /steps\[1\]\.with: import-certkey has no option requireOldBound \(it takes no options\)/,
      needle: 'requireOldBound',
    },
    {
      what: 'a string for a boolean',
      step: '  - uses: preflight\n    with: { requireOldBound: "no" }\n',
      says: /steps\[1\]\.with\.requireOldBound: Invalid input: expected boolean, received string/,
      needle: 'requireOldBound',
    },
    {
      what: 'unknown logon-check phase',
      step: '  - uses: logon-check\n    with: { phase: after }\n',
      says: /steps\[1\]\.with\.phase: expected before or after-rekey or final, not "after"/,
      needle: 'phase: after',
    },
  ];
  it.each(optionCases)(
    'step option: $what — exit 2 naming file, line and option',
    async ({ what, step, says, needle }) => {
      const text = `name: x\nsteps:\n  - uses: preflight\n${step}`;
      const file = writePlaybook('playbook-bad-option.yaml', text);
      const r = await refused(`playbook: ${what}`, 'step option', ['run', file, '-i', lab.inventory, '--yes'], 2, new RegExp(`playbook-bad-option\\.yaml:\\d+ ${says.source}`));
      expect(Number(/playbook-bad-option\.yaml:(\d+)/.exec(r.stderr)![1])).toBe(lineOf(text, needle));
    },
    60_000,
  );

  it('bindings change and the inventory has no canary: run refused unless --no-logon-check; the plan says what is not proven; a dry run goes on', async () => {
    const inv = noCanary();
    await refused(
      'run of the cutover, inventory without a canary',
      'no logon proof',
      ['run', CUTOVER, '-i', inv, '--yes'],
      2,
      /no logon is proven: the inventory .*inventory-no-canary\.yaml has no canary user.*bind-new-key, unbind-old-key, bind-new-key#2 change the userDataEncryptionKey bindings\. Nothing was changed: .*--no-logon-check/,
    );
    const plan = await lab.cli(['plan', CUTOVER, '-i', inv, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const warnings = (JSON.parse(plan.stdout) as { warnings: string[] }).warnings;
    expect(warnings[0]).toMatch(/^no logon is proven: .*no canary user.*a run needs --no-logon-check/);
    const printed = await lab.cli(['plan', CUTOVER, '-i', inv, '--no-logon-check']);
    expect(printed.stdout).toMatch(/⚠ no logon is proven: .*\(accepted with --no-logon-check\)/);
    const dry = await lab.cli(['run', CUTOVER, '-i', inv, '--dry-run', '--yes']);
    expect(dry.code, dry.stderr).toBe(0);
    // A playbook that changes no binding needs no canary.
    const readOnly = await lab.cli(['run', writePlaybook('preflight-only.yaml', 'name: p\nsteps:\n  - uses: preflight\n'), '-i', inv, '--yes']);
    expect(readOnly.code, readOnly.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 60_000);

  it('--no-logon-check: the run goes on; killed mid re-encryption, it resumes (the choice is in the journal) and rolls back', async () => {
    const inv = noCanary();
    const home = join(lab.root, 'home');
    const child = spawn(process.execPath, [CLI, 'run', CUTOVER, '-i', inv, '--yes', '--json', '--no-logon-check', '--set', 'rate=6'], {
      cwd: lab.root,
      env: { ...process.env, CI: 'true', ADC_CUTOVER_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!/"type":"progress","step":"rekey-directory".*"done":[2-9]/.test(out)) {
      if (Date.now() > deadline) throw new Error(`the directory step never got going:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    const runId = String(jsonEvents(out).find((e) => e.type === 'run')?.['runId']);
    const journal = readFileSync(join(home, 'runs', runId, 'events.jsonl'), 'utf8');
    expect(journal).toMatch(/"type":"run".*"noLogonCheck":true/);
    expect(journal).not.toContain('"type":"run-end"');

    const resumed = await lab.cli(['resume', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const moved = await lab.snapshot();
    expect(Object.values(moved.appliances).map((a) => a.bindings)).toEqual([[expect.stringMatching(/^otp-enc-/)], [expect.stringMatching(/^otp-enc-/)]]);
    const undone = await lab.cli(['rollback', runId, '--yes', '--json'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 90_000);

  it('--set newCertkey naming a certkey that holds another certificate: preflight refuses, naming appliance and certkey', async () => {
    const r = await refused(
      "--set newCertkey=otp-old (the old certificate's certkey)",
      'certkey name',
      ['run', playbook, '-i', lab.inventory, '--yes', '--set', 'newCertkey=otp-old'],
      2,
      /adc1: certkey otp-old \(newCertkey, from --set or the playbook params\) already exists here and holds another certificate than certificates\.new \(CN=OTP encryption/,
    );
    expect(r.stderr).toMatch(/adc2: certkey otp-old/);
  }, 60_000);

  it('--set newCertkey naming a certkey that holds the new certificate: adopted, nothing uploaded', async () => {
    const first = await lab.cli(['run', importOnly(), '-i', lab.inventory, '--yes', '--json', '--set', 'newCertkey=otp-2027'], { timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    const loaded = await lab.snapshot();
    expect(loaded.appliances['adc1'].certkeys.some((c) => c.startsWith('otp-2027:'))).toBe(true);
    const again = await lab.cli(['run', importOnly(), '-i', lab.inventory, '--yes', '--json', '--set', 'newCertkey=otp-2027'], { timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(
      jsonEvents(again.stdout)
        .filter((e) => e.type === 'target' && e['step'] === 'import-certkey')
        .map((e) => e['message']),
    ).toEqual(['the new certificate is already loaded as certkey otp-2027; adopted', 'the new certificate is already loaded as certkey otp-2027; adopted']);
    expect(await lab.snapshot()).toEqual(loaded);
    const runId = String(jsonEvents(first.stdout).find((e) => e.type === 'run')?.['runId']);
    const undone = await lab.cli(['rollback', runId, '--yes'], { timeoutMs: 60_000 });
    expect(undone.code, undone.stderr).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 90_000);

  const dirCases: { what: string; edit: (d: Record<string, unknown>) => void; says: RegExp; needle: string }[] = [
    { what: 'filter that does not parse', edit: (d) => (d['filter'] = '(objectClass=user'), says: /directory\.filter: "\(objectClass=user" is not a valid LDAP filter/, needle: 'filter:' },
    {
      what: 'base that does not exist (noSuchObject)',
      edit: (d) => (d['base'] = 'ou=Nobody,dc=lab,dc=example'),
      says: /directory\.base: search base "ou=Nobody,dc=lab,dc=example": no such entry in the directory \(LDAP 32 noSuchObject\)/,
      needle: 'base:',
    },
    {
      what: 'base that is not a DN (invalidDNSyntax)',
      edit: (d) => (d['base'] = 'ou=Users,,dc=lab=x'),
      says: /directory\.base: search base "ou=Users,,dc=lab=x": not a valid DN \(LDAP 34 invalidDNSyntax\)/,
      needle: 'base:',
    },
  ];
  it.each(dirCases)(
    'directory $what: exit 2 naming file, line, field and value',
    async ({ what, edit, says, needle }) => {
      const inv = deriveInventory(lab, 'inventory-bad-search.yaml', (doc) => edit(doc['directory'] as Record<string, unknown>));
      const r = await refused(`inventory: directory ${what}`, 'directory search', ['run', playbook, '-i', inv, '--yes'], 2, new RegExp(`inventory-bad-search\\.yaml:\\d+ ${says.source}`));
      expect(Number(/inventory-bad-search\.yaml:(\d+)/.exec(r.stderr)![1])).toBe(lineOf(readFileSync(inv, 'utf8'), needle));
    },
    60_000,
  );

  it.each([
    { what: '--base that does not exist', args: () => ['--base', 'ou=Nobody,dc=lab,dc=example'], says: /search base "ou=Nobody,dc=lab,dc=example": no such entry/ },
    {
      what: '--filter that does not parse',
      args: () => ['--base', lab.status.directory.baseDN, '--filter', '(&(objectClass=user)'],
      says: /LDAP filter "\(&\(objectClass=user\)": not a valid LDAP filter/,
    },
  ])(
    'directory census $what: exit 2 naming the value',
    async ({ what, args, says }) => {
      await refused(`directory census ${what}`, 'directory search', censusArgs(...args()), 2, says);
    },
    60_000,
  );

  describe('a state home that cannot be written', () => {
    const mounts: string[] = [];
    /** A small tmpfs at `dir`; mount(8) needs root, as the disk-full suite does. */
    const tmpfs = (dir: string, ro: boolean) => {
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=1m,mode=0700${ro ? ',ro' : ''}`, 'tmpfs', dir]);
      mounts.push(dir);
    };
    const remount = (dir: string, ro: boolean) => execFileSync('mount', ['-o', `remount,${ro ? 'ro' : 'rw'}`, dir]);
    afterAll(() => {
      for (const m of mounts.reverse()) execFileSync('umount', [m]);
    });

    it('read-only state home, and a read-only runs/ under a writable one: exit 2 naming the path, no stack trace', async () => {
      const home = join(lab.root, 'ro-home');
      tmpfs(home, true);
      await refused(
        'ADC_CUTOVER_HOME on a read-only file system',
        'state home',
        ['run', playbook, '-i', lab.inventory, '--yes'],
        2,
        new RegExp(`cannot write the run directory ${home}/runs/\\S+ \\(read-only or missing; \\w+\\): the state home ${home} must be writable.*nothing was changed`),
        home,
      );
      const home2 = join(lab.root, 'rw-home');
      tmpfs(home2, false);
      tmpfs(join(home2, 'runs'), true);
      await refused(
        'runs/ on a read-only file system',
        'state home',
        ['run', playbook, '-i', lab.inventory, '--yes'],
        2,
        new RegExp(`cannot write the run directory ${home2}/runs/\\S+ .*nothing was changed`),
        home2,
      );
    }, 60_000);

    it('rollback of a run whose state home became read-only: exit 2, nothing changed; writable again, the rollback completes', async () => {
      const home = join(lab.root, 'later-ro-home');
      tmpfs(home, false);
      const cli = (args: string[]) => runCli(args, { env: { ADC_CUTOVER_HOME: home }, cwd: lab.root, timeoutMs: 60_000 });
      const run = await cli(['run', importOnly(), '-i', lab.inventory, '--yes', '--json']);
      expect(run.code, run.stderr).toBe(0);
      const runId = String(jsonEvents(run.stdout).find((e) => e.type === 'run')?.['runId']);
      const changed = await lab.snapshot();
      expect(changed).not.toEqual(before);
      remount(home, true);
      const refusedRollback = await cli(['rollback', runId, '--yes']);
      expect(refusedRollback.code, refusedRollback.stderr).toBe(2);
      expect(refusedRollback.stderr).toMatch(new RegExp(`cannot write the run directory ${home}/runs/${runId} .*nothing was changed`));
      expect(refusedRollback.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(await lab.snapshot()).toEqual(changed);
      remount(home, false);
      const undone = await cli(['rollback', runId, '--yes']);
      expect(undone.code, undone.stderr).toBe(0);
      expect(await lab.snapshot()).toEqual(before);
      figures.add({
        case: 'rollback with the state home read-only',
        kind: 'state home',
        outcome: 'exit 2 naming the run directory, nothing changed; writable again, rolled back',
        exitCode: refusedRollback.code,
        entriesChecked: Object.keys(before.directory).length * 2,
        lost: 0,
        appliancesChecked: applianceCount(before) * 2,
      });
    }, 90_000);
  });
});
