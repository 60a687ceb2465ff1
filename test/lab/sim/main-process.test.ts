// The simulator as its own process (what `lab up` runs): the built entry point, started with
// --config/--state, reached over HTTP, stopped with SIGTERM.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labTls, login, nitro } from './helpers.js';

const root = resolve(import.meta.dirname, '../../..');
// The build `npm test` made before any test runs (what `lab up` starts).
const SIM_MAIN = join(root, 'dist', 'src', 'lab', 'sim', 'main.js');
let tmp: string;
let child: ChildProcess | undefined;
let output = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'adc-sim-main-'));
  expect(existsSync(SIM_MAIN), `${SIM_MAIN} was not built: npm run build`).toBe(true);
});
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

async function waitFor<T>(fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out; output so far: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('simulator main process', () => {
  it('writes its state file once listening, serves NITRO, and exits 0 on SIGTERM with its ports closed', async () => {
    const tls = labTls();
    const configFile = join(tmp, 'sim.json');
    const stateFile = join(tmp, 'state.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        appliances: [{ name: 'adc1', firmware: 'multi', username: 'nsroot', password: 'very-secret-pass' }],
        tls: { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
        control: true,
      }),
      { mode: 0o600 },
    );
    child = spawn(process.execPath, [SIM_MAIN, '--config', configFile, '--state', stateFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const state = await waitFor(
      () => (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number; appliances: { name: string; nitroUrl: string; controlUrl?: string }[] }) : undefined),
      10_000,
    );
    expect(state.pid).toBe(child.pid);
    expect(state.appliances[0]).toMatchObject({ name: 'adc1', controlUrl: `${state.appliances[0].nitroUrl}/__lab` });
    const base = state.appliances[0].nitroUrl;
    const token = await login(base, 'nsroot', 'very-secret-pass');
    expect((await nitro(base, 'GET', 'nsconfig', undefined, { token })).status).toBe(200);

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${base}/nitro/v1/config/nsconfig`)).rejects.toThrow();
    expect(output).toContain('adc1 nitro=');
    expect(output).not.toContain('very-secret-pass');
    expect(output).not.toContain('PRIVATE KEY');
  });

  it('exits 1 with a message for a bad configuration', () => {
    const configFile = join(tmp, 'bad.json');
    writeFileSync(configFile, JSON.stringify({ appliances: [], tls: labTls().server }));
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [SIM_MAIN, '--config', configFile, '--state', join(tmp, 's2.json')], { stdio: 'pipe' });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(1);
    expect(stderr).toContain('at least one appliance');
  });
});
