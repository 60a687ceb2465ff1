// `lab up` / `lab status --json` / `lab fault` / `lab down` through the built CLI, as a newcomer
// runs them: processes detached and recorded by pid, secrets in 0600 files, the inventory written,
// and nothing left listening afterwards.
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accepts, labDown, labPorts, labProcesses, labSeed, labStatus, labUp, type LabState, type LabStatus } from '../../src/lab/lab.js';
import { AdcError, InputError } from '../../src/errors.js';
import { isRunning, stopPid } from '../../src/lab/processes.js';
import { secondsLeftInStep, totpCode } from '../../src/otp/index.js';
import { clearFaults } from '../../src/lab/sim/index.js';

const run = promisify(execFile);

/** One nFactor logon over HTTPS, trusting only the lab CA; returns the AuthenticateResponse Result. */
async function nfactorLogon(gatewayUrl: string, ca: Buffer, form: Record<string, string>): Promise<string> {
  const post = (path: string, body: string) =>
    new Promise<string>((resolvePost, reject) => {
      const req = request(
        new URL(path, gatewayUrl),
        {
          method: 'POST',
          ca,
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolvePost(text));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const first = await post('/nf/auth/getAuthenticationRequirements.do', '');
  const stateContext = /<StateContext>([^<]*)<\/StateContext>/.exec(first)?.[1] ?? '';
  const postBack = /<PostBack>([^<]*)<\/PostBack>/.exec(first)?.[1] ?? '/nf/auth/doAuthentication.do';
  const answer = await post(postBack, new URLSearchParams({ ...form, StateContext: stateContext }).toString());
  return /<Result>([^<]*)<\/Result>/.exec(answer)?.[1] ?? 'no result';
}
const ROOT = resolve(import.meta.dirname, '../..');
// The build `npm test` made before any test runs (no test rebuilds it).
const BUILD = join(ROOT, 'dist');
const CLI = join(BUILD, 'src', 'cli', 'main.js');

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(() => {
  expect(existsSync(CLI), `${CLI} was not built: npm run build`).toBe(true);
});

describe('adc-cutover lab (built CLI)', () => {
  let work: string;
  let labDir: string;
  let status: LabStatus;
  let state: LabState;
  beforeAll(async () => {
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    work = mkdtempSync(join(ROOT, 'test-artifacts', 'lab-cli-'));
    const up = await cli(['lab', 'up', '--users', '30', '--appliances', '3', '--ha', '--firmware', 'single'], work);
    expect(up.stderr + up.stdout).not.toMatch(/internal error/);
    expect(up.code, up.stderr).toBe(0);
    labDir = join(work, '.adc-cutover', 'lab');
    state = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8')) as LabState;
    const st = await cli(['lab', 'status', '--json'], work);
    expect(st.code, st.stderr).toBe(0);
    status = JSON.parse(st.stdout) as LabStatus;
  });
  afterAll(async () => {
    // Whatever the tests did, stop what the lab started (by pid) before removing its files.
    if (state) {
      if (state.simulator) await stopPid(state.simulator.pid);
      await stopPid(state.slapd.pid);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('reports exactly the documented status fields', () => {
    expect(Object.keys(status).sort()).toEqual(['appliances', 'canaries', 'canary', 'certs', 'directory', 'inventory']);
    expect(Object.keys(status.directory).sort()).toEqual(['attribute', 'baseDN', 'bindDN', 'caFile', 'ldapsUrl', 'passwordFile', 'url']);
    expect(status.appliances.map((a) => [a.name, a.haPeer, a.firmware, a.profile])).toEqual([
      ['adc1', 'adc2', 'single', 'single'],
      ['adc2', 'adc1', 'single', 'single'],
      ['adc3', null, 'single', 'single'],
    ]);
    for (const a of status.appliances) expect(Object.keys(a).sort()).toEqual(['firmware', 'gatewayUrl', 'haPeer', 'name', 'nitroUrl', 'passwordFile', 'profile', 'username']);
    expect(status.certs.old.certkey).toBe('otp-old');
    expect(Object.keys(status.canary).sort()).toEqual(['dn', 'passwordFile', 'sAMAccountName', 'totpSecretFile']);
    // A pool of three by default, the first being `canary`.
    expect(status.canaries.map((c) => c.sAMAccountName)).toEqual(['canary', 'canary2', 'canary3']);
    expect(status.canaries[0]).toEqual(status.canary);
    expect(status.inventory).toBe(join(labDir, 'inventory.yaml'));
  });

  it('keeps secrets in 0600 files and out of the status and the inventory', () => {
    const files = [
      status.directory.passwordFile,
      ...status.canaries.flatMap((c) => [c.passwordFile, c.totpSecretFile]),
      status.certs.old.key,
      status.certs.new.key,
      ...status.appliances.map((a) => a.passwordFile),
    ];
    for (const f of files) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    const printed = JSON.stringify(status) + readFileSync(status.inventory, 'utf8') + readFileSync(join(labDir, 'lab.json'), 'utf8');
    for (const f of [status.directory.passwordFile, ...status.canaries.flatMap((c) => [c.passwordFile, c.totpSecretFile]), status.appliances[0].passwordFile]) {
      expect(printed).not.toContain(readFileSync(f, 'utf8').trim());
    }
  });

  it('writes the inventory of contract 3, an HA pair as one entry with two nodes', () => {
    const inv = parse(readFileSync(status.inventory, 'utf8')) as Record<string, unknown> & { appliances: Record<string, unknown>[]; directory: Record<string, unknown> };
    expect(inv.appliances).toHaveLength(2);
    expect(inv.appliances[0].nodes).toEqual([status.appliances[0].nitroUrl, status.appliances[1].nitroUrl]);
    expect(inv.appliances[1]).toMatchObject({
      name: 'adc3',
      nitro: status.appliances[2].nitroUrl,
      username: 'nsroot',
      password: '${file:secrets/adc3.password}',
      tls: { ca: 'pki/ca.pem' },
      transport: 'nitro',
    });
    expect(inv.directory).toMatchObject({
      url: status.directory.ldapsUrl,
      ca: 'pki/ca.pem',
      bindDN: status.directory.bindDN,
      password: '${file:secrets/directory.password}',
      base: 'ou=Users,dc=lab,dc=example',
      attribute: 'userParameters',
    });
    expect(inv.certificates).toEqual({ old: { cert: 'certs/otp-old.pem', key: 'certs/otp-old.key', certkey: 'otp-old' }, new: { cert: 'certs/otp-new.pem', key: 'certs/otp-new.key' } });
    expect(inv.canary).toBeUndefined();
    expect(inv.canaries).toEqual(['canary', 'canary2', 'canary3'].map((u) => ({ user: u, password: `\${file:secrets/${u}.password}`, totpSecret: `\${file:secrets/${u}.totp}` })));
  });

  it('leaves a directory the service account can use over LDAPS, and the canary can bind', async () => {
    const client = new Client({ url: status.directory.ldapsUrl, tlsOptions: { ca: [readFileSync(status.directory.caFile)] } });
    try {
      await client.bind(status.directory.bindDN, readFileSync(status.directory.passwordFile, 'utf8'));
      const { searchEntries } = await client.search('ou=Users,dc=lab,dc=example', { filter: '(objectClass=user)', attributes: ['cn'], paged: { pageSize: 100 } });
      // The 30 seeded users and the three canaries; every canary can bind with its password.
      expect(searchEntries).toHaveLength(33);
      for (const c of status.canaries) await client.bind(c.dn, readFileSync(c.passwordFile, 'utf8'));
    } finally {
      await client.unbind();
    }
  });

  it('leaves appliances that answer NITRO with the old certkey bound', async () => {
    const a = state.simulator!.appliances.find((x) => x.name === 'adc3')!;
    const res = await fetch(`${a.nitroUrl}/nitro/v1/config/vpnglobal_sslcertkey_binding`, {
      headers: { 'X-NITRO-USER': 'nsroot', 'X-NITRO-PASS': readFileSync(status.appliances[2].passwordFile, 'utf8') },
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('otp-old');
  });

  it('lets the canary log on through every gateway (HTTPS, lab CA), and refuses a wrong password or code', async () => {
    const ca = readFileSync(join(labDir, 'pki', 'ca.pem'));
    const secret = readFileSync(status.canary.totpSecretFile, 'utf8');
    const password = readFileSync(status.canary.passwordFile, 'utf8');
    // A code is good for one logon per pair, so the pair's two nodes get two steps of the ±1
    // window: the earlier pair (-1, 0) early in a step, the later (0, +1) near its end, so a step
    // boundary between the two logons cannot push the first code out of the window.
    const base = secondsLeftInStep() > 15 ? -1 : 0;
    const now = Date.now();
    const code = (offsetSteps: number) => totpCode(secret, { time: now + offsetSteps * 30_000 });
    const [adc1, adc2, adc3] = status.appliances;
    expect(await nfactorLogon(adc1.gatewayUrl, ca, { login: 'canary', passwd: password, passwd1: code(base) })).toBe('success');
    expect(await nfactorLogon(adc2.gatewayUrl, ca, { login: 'canary', passwd: password, passwd1: code(base + 1) })).toBe('success');
    expect(await nfactorLogon(adc3.gatewayUrl, ca, { login: 'canary', passwd: password, passwd1: code(0) })).toBe('success');
    expect(await nfactorLogon(adc3.gatewayUrl, ca, { login: 'canary', passwd: `${password}x`, passwd1: code(1) })).toBe('more-info');
    const wrong = String((Number(code(1)) + 500_000) % 1_000_000).padStart(6, '0');
    expect(await nfactorLogon(adc3.gatewayUrl, ca, { login: 'canary', passwd: password, passwd1: wrong })).toBe('more-info');
  });

  it('injects a fault through lab fault, and refuses an ambiguous one', async () => {
    const bad = await cli(['lab', 'fault', '--appliance', 'adc3', '--on', 'POST nsconfig?action=save', '--errorcode', '1', '--drop'], work);
    expect(bad.code).toBe(2);
    const unknown = await cli(['lab', 'fault', '--appliance', 'adc9', '--on', 'GET nsconfig', '--errorcode', '1'], work);
    expect(unknown.code).toBe(2);
    const ok = await cli(['lab', 'fault', '--appliance', 'adc3', '--on', 'GET nsconfig', '--errorcode', '278'], work);
    expect(ok.code, ok.stderr).toBe(0);
    const a = state.simulator!.appliances.find((x) => x.name === 'adc3')!;
    const headers = { 'X-NITRO-USER': 'nsroot', 'X-NITRO-PASS': readFileSync(status.appliances[2].passwordFile, 'utf8') };
    const failed = await fetch(`${a.nitroUrl}/nitro/v1/config/nsconfig`, { headers });
    expect(((await failed.json()) as { errorcode: number }).errorcode).toBe(278);
    const next = await fetch(`${a.nitroUrl}/nitro/v1/config/nsconfig`, { headers });
    expect(next.status).toBe(200);
    // A held write: accepted as a fault, refused on a read.
    const held = await cli(['lab', 'fault', '--appliance', 'adc3', '--on', 'POST nsconfig?action=save', '--hold-until', 'GET nsconfig'], work);
    expect(held.code, held.stderr).toBe(0);
    const heldRead = await cli(['lab', 'fault', '--appliance', 'adc3', '--on', 'GET hanode', '--hold-until', 'GET nsconfig'], work);
    expect(heldRead.code).toBe(2);
    expect(heldRead.stderr).toMatch(/holds a write/);
    await clearFaults(a.controlUrl!);
  });

  it('refuses a second lab up in the same directory while the first runs', async () => {
    const again = await cli(['lab', 'up', '--users', '1'], work);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already up/);
  });

  it('lab down stops every process by pid and leaves nothing listening', async () => {
    const pids = [state.slapd.pid, state.simulator!.pid];
    for (const p of pids) expect(isRunning(p)).toBe(true);
    const down = await cli(['lab', 'down'], work);
    expect(down.code, down.stderr).toBe(0);
    for (const p of pids) expect(isRunning(p)).toBe(false);
    for (const port of labPorts(state)) expect(await accepts(port), `port ${port}`).toBe(false);
    const st = await cli(['lab', 'status', '--json'], work);
    expect(st.code).toBe(2);
  });
});

describe('lab programmatic API', () => {
  let dir: string;
  let state: LabState | undefined;
  afterAll(async () => {
    if (state) {
      if (state.simulator) await stopPid(state.simulator.pid);
      await stopPid(state.slapd.pid);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('labUp returns the status labStatus reads back; labSeed and labDown work from another call', async () => {
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    dir = mkdtempSync(join(ROOT, 'test-artifacts', 'lab-api-'));
    const up = await labUp({ dir, users: 7, simulatorMain: join(BUILD, 'src', 'lab', 'sim', 'main.js') });
    state = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabState;
    expect(labStatus(dir)).toEqual(up);
    expect(up.appliances).toEqual([expect.objectContaining({ name: 'adc1', haPeer: null, firmware: 'multi' })]);
    const seed = labSeed(dir);
    expect(seed.users).toHaveLength(7);
    expect(seed.canary.totpSecret).toBe(readFileSync(up.canary.totpSecretFile, 'utf8'));
    expect(labProcesses(dir).every((p) => p.running)).toBe(true);
    const down = await labDown(dir);
    expect(down.stopped.map((s) => [s.name, s.outcome])).toEqual([
      ['simulator', 'terminated'],
      ['slapd', 'terminated'],
    ]);
    expect((await labDown(dir)).stopped.map((s) => s.outcome)).toEqual(['not-running', 'not-running']);
    expect(() => labStatus(dir)).toThrow(InputError);
    await expect(labUp({ dir, users: 1, appliances: 1, ha: true })).rejects.toBeInstanceOf(InputError);
  });

  it('a failed lab up stops what it started and leaves a state lab down understands', async () => {
    const failDir = mkdtempSync(join(ROOT, 'test-artifacts', 'lab-fail-'));
    try {
      const err = await labUp({ dir: failDir, users: 3, simulatorMain: join(failDir, 'no-such-main.js') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdcError);
      expect((err as Error).message).toContain('no-such-main.js');
      const failed = JSON.parse(readFileSync(join(failDir, 'lab.json'), 'utf8')) as LabState;
      expect(failed.state).toBe('down');
      expect(isRunning(failed.slapd.pid)).toBe(false);
      expect(await accepts(Number(new URL(failed.slapd.url).port))).toBe(false);
      expect((await labDown(failDir)).stopped.map((s) => s.outcome)).toEqual(['not-running']);
    } finally {
      rmSync(failDir, { recursive: true, force: true });
    }
  });
});
