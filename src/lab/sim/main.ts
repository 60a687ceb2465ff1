// Entry point for the simulator as its own process:
//   node dist/src/lab/sim/main.js --config cfg.json --state state.json
// Writes {pid, appliances} to the state file once every port listens; stops on SIGTERM/SIGINT.
// The config file holds passwords and keys; nothing from it but names and URLs is printed.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { startSimulator } from './simulator.js';
import type { SimulatorConfig } from './types.js';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) {
    process.stderr.write(`usage: main.js --config cfg.json --state state.json (missing --${name})\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const configFile = arg('config');
  const stateFile = arg('state');
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as SimulatorConfig;
  const sim = await startSimulator(cfg);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`adc simulator: ${signal}, stopping\n`);
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`adc simulator: stop failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Write then rename, so a reader never sees half a state file.
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, appliances: sim.appliances }, null, 2), { mode: 0o600 });
  renameSync(tmp, stateFile);
  for (const a of sim.appliances) {
    process.stdout.write(`adc simulator: ${a.name} nitro=${a.nitroUrl} nitro-tls=${a.nitroHttpsUrl} gateway=${a.gatewayUrl}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`adc simulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
