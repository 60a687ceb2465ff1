// Reads a decision stands on are checked against the shapes public sources document. A reply we
// do not understand is never guessed at: it stops the run (exit 2, before any change when the
// read is preflight's) and says what came back — field names and value types only, never values,
// which may be certificate or key material.
import { EXIT } from '../errors.js';
import { NitroError } from './errors.js';

/** A reply whose shape no public source documents: refuse rather than decide on it. */
export class NitroReplyShapeError extends NitroError {
  constructor(appliance: string, resource: string, what: string, value: unknown) {
    super(
      {
        appliance,
        method: 'GET',
        resource,
        httpStatus: 200,
        errorcode: undefined,
        message:
          `reply not understood: ${what}; it carried ${describeShape(value)}. Nothing is decided on a reply like this: ` +
          "check this appliance's firmware against docs/fidelity.md (NITRO) and report the shape",
      },
      { exitCode: EXIT.invalidInput },
    );
  }
}

/** The shape of a JSON value, redacted: object keys and value types, never the values. */
export function describeShape(value: unknown, depth = 0): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (depth >= 2) return `[${value.length} item(s)]`;
    const kinds = [...new Set(value.slice(0, 20).map((v) => describeShape(v, depth + 1)))];
    return `[${value.length} item(s): ${kinds.slice(0, 4).join(' | ')}${kinds.length > 4 ? ' | …' : ''}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (depth >= 2) return `{${entries.length} field(s)}`;
    const shown = entries.slice(0, 12).map(([k, v]) => `${k.slice(0, 40)}: ${describeShape(v, depth + 1)}`);
    return `{${shown.join(', ')}${entries.length > 12 ? ', …' : ''}}`;
  }
  return typeof value;
}

/** The value of `field`: absent (undefined, null or ''), or a string; anything else is refused. */
export function optionalString(appliance: string, resource: string, row: Record<string, unknown>, field: string): string | undefined {
  const v = row[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new NitroReplyShapeError(appliance, resource, `field ${field} is a ${Array.isArray(v) ? 'list' : typeof v}, not a string`, row);
  return v;
}

/** A number, or a string of digits (NITRO sends both). */
export function optionalNumber(appliance: string, resource: string, row: Record<string, unknown>, field: string): number | undefined {
  const v = row[field];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new NitroReplyShapeError(appliance, resource, `field ${field} is not a number`, row);
  return n;
}

/** true/false as NITRO spells them (a JSON boolean, "true"/"false", "YES"/"NO", 1/0); absent → undefined. */
export function optionalFlag(appliance: string, resource: string, row: Record<string, unknown>, field: string): boolean | undefined {
  const v = row[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 1) return true;
  if (v === false || v === 0) return false;
  if (typeof v === 'string') {
    const s = v.trim().toUpperCase();
    if (s === 'TRUE' || s === 'YES' || s === '1') return true;
    if (s === 'FALSE' || s === 'NO' || s === '0') return false;
  }
  throw new NitroReplyShapeError(appliance, resource, `field ${field} is neither true nor false`, row);
}

/** One of `allowed` (compared without case), returned as the appliance spelled it. */
export function oneOf(appliance: string, resource: string, row: Record<string, unknown>, field: string, allowed: readonly string[], required: boolean): string | undefined {
  const v = optionalString(appliance, resource, row, field);
  if (v === undefined) {
    if (required) throw new NitroReplyShapeError(appliance, resource, `field ${field} is missing`, row);
    return undefined;
  }
  if (!allowed.some((a) => a.toLowerCase() === v.toLowerCase())) {
    throw new NitroReplyShapeError(appliance, resource, `field ${field} has a value that is none of ${allowed.join(', ')}`, row);
  }
  return v;
}
