// Where the tool keeps its state on this machine: .adc-cutover under the working directory, or
// ADC_CUTOVER_HOME. A leaf beside errors.ts because two layers need it — the run directories
// (runner/) and the gateway's TOTP replay store, which falls back to it — and the gateway must not
// import the runner for one path.
import { resolve } from 'node:path';

export function stateHome(): string {
  return resolve(process.env['ADC_CUTOVER_HOME'] ?? '.adc-cutover');
}
