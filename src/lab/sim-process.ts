// Run the ADC simulator as its own detached process (contract 2): it outlives `lab up`, writes
// its URLs and pid to a state file once listening, and stops on SIGTERM.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AdcError } from '../errors.js';
import { isRunning, sleep, stopPid } from './processes.js';
import type { RunningAppliance, SimulatorConfig } from './sim/types.js';

const stateSchema = z.object({
  pid: z.number().int().positive(),
  appliances: z.array(
    z.object({
      name: z.string(),
      nitroUrl: z.string(),
      nitroHttpsUrl: z.string(),
      gatewayUrl: z.string(),
      gatewayHttpUrl: z.string(),
      controlUrl: z.string().optional(),
    }),
  ),
});

export interface SimulatorProcess {
  pid: number;
  appliances: RunningAppliance[];
}

/**
 * The built simulator entry point. From dist/ it is beside this module; when this module runs
 * from source (tests), the built one under the package root's dist/ is used.
 */
export function simulatorMainPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'sim', 'main.js');
  if (existsSync(sibling)) return sibling;
  let dir = here;
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'src', 'lab', 'sim', 'main.js');
    dir = dirname(dir);
  }
  return sibling;
}

export async function startSimulatorProcess(opts: { config: SimulatorConfig; main?: string; configFile: string; stateFile: string; logFile: string; timeoutMs?: number }): Promise<SimulatorProcess> {
  const main = opts.main ?? simulatorMainPath();
  if (!existsSync(main)) throw new AdcError(`the ADC simulator is not built (${main} is missing); run: npm run build`);
  // The config holds appliance passwords and private keys: a 0600 file, never the command line.
  writeFileSync(opts.configFile, JSON.stringify(opts.config), { mode: 0o600 });
  rmSync(opts.stateFile, { force: true });
  const logFd = openSync(opts.logFile, 'w', 0o600);
  const child = spawn(process.execPath, [main, '--config', opts.configFile, '--state', opts.stateFile], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new AdcError(`could not start the ADC simulator (${main})`);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (exited !== undefined || !isRunning(pid)) {
      throw new AdcError(`the ADC simulator exited (code ${exited ?? '?'}) before listening: ${tail(opts.logFile)} (log: ${opts.logFile})`);
    }
    const state = readState(opts.stateFile);
    if (state) return { pid: state.pid, appliances: state.appliances.map(stripUndefined) };
    await sleep(50);
  }
  await stopPid(pid);
  throw new AdcError(`the ADC simulator did not report listening within ${opts.timeoutMs ?? 20_000} ms: ${tail(opts.logFile)} (log: ${opts.logFile})`);
}

function readState(file: string): z.infer<typeof stateSchema> | undefined {
  try {
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not written yet, or caught half-written.
    return undefined;
  }
}

function stripUndefined(a: z.infer<typeof stateSchema>['appliances'][number]): RunningAppliance {
  const { controlUrl, ...rest } = a;
  return controlUrl ? { ...rest, controlUrl } : rest;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-8).join('\n') || 'no output';
  } catch {
    return 'no output';
  }
}
