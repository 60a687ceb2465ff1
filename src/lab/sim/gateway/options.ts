// Reads gateway behaviour options from a control request; an unknown key or value is refused so a
// test never believes it switched on a behaviour the simulator does not have.
import type { SimGatewayOptions } from '../types.js';

const ENUMS: Record<string, readonly string[]> = {
  theme: ['both', 'nfactor', 'classic'],
  errorStyle: ['error', 'nsg-l20n-error', 'nsg-auth-failure'],
  epa: ['off', 'before', 'after'],
};
const FLAGS = ['classicRequiresOrigin', 'setClientStep', 'pushOnly'];
const NAMES = ['extraRequirementType', 'extraLabelType'];
const PREFIXES = ['/nf/auth/', '/p/u/'];

export function gatewayOptions(raw: Record<string, unknown>): SimGatewayOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (ENUMS[key]) {
      if (typeof value !== 'string' || !ENUMS[key].includes(value)) throw new Error(`gateway option ${key} must be one of ${ENUMS[key].join(', ')}`);
    } else if (FLAGS.includes(key)) {
      if (typeof value !== 'boolean') throw new Error(`gateway option ${key} must be true or false`);
    } else if (NAMES.includes(key)) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(value)) throw new Error(`gateway option ${key} must be a type name`);
    } else if (key === 'nfactorPaths') {
      if (!Array.isArray(value) || value.length === 0 || value.some((p) => !PREFIXES.includes(String(p)))) {
        throw new Error(`gateway option nfactorPaths must list some of ${PREFIXES.join(', ')}`);
      }
    } else {
      throw new Error(`unknown gateway option ${key}`);
    }
    out[key] = value;
  }
  return out;
}
