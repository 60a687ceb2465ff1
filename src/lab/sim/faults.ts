// Injected faults for tests and rehearsals. A rule matches "METHOD resource[/name][?action=verb]"
// (the action part may also be written "?verb"); without an action it matches any action.
import type { FaultSpec } from './types.js';

export interface ActiveFault {
  method: string;
  resource: string;
  name?: string;
  action?: string;
  errorcode?: number;
  drop: boolean;
  delayMs: number;
  remaining: number;
  on: string;
}

export function parseFaultSpec(spec: FaultSpec): ActiveFault {
  const m = spec.on.trim().match(/^([A-Za-z*]+)\s+([^?\s]+)(?:\?(.*))?$/);
  if (!m) throw new Error(`fault "on" must look like "POST sslcertkey" or "POST nsconfig?action=save", got "${spec.on}"`);
  const [, method, path, actionPart] = m;
  const [resource, ...rest] = path!.split('/');
  const action = actionPart ? actionPart.replace(/^action=/i, '') : undefined;
  const hasEffect = spec.errorcode !== undefined || spec.drop === true || (spec.delayMs ?? 0) > 0;
  if (!hasEffect) throw new Error('a fault needs errorcode, drop or delayMs');
  const times = spec.times ?? 1;
  if (!Number.isInteger(times) || times < 1) throw new Error('times must be a positive integer');
  return {
    method: method!.toUpperCase(),
    resource: resource!.toLowerCase(),
    ...(rest.length > 0 ? { name: rest.join('/') } : {}),
    ...(action ? { action: action.toLowerCase() } : {}),
    ...(spec.errorcode !== undefined ? { errorcode: spec.errorcode } : {}),
    drop: spec.drop === true,
    delayMs: spec.delayMs ?? 0,
    remaining: times,
    on: spec.on,
  };
}

export class FaultTable {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): ActiveFault {
    const f = parseFaultSpec(spec);
    this.faults.push(f);
    return f;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return [...this.faults];
  }

  /** The first matching fault, counted down (and removed when used up). */
  take(method: string, resource: string, name: string | undefined, action: string | undefined): ActiveFault | undefined {
    const i = this.faults.findIndex((f) =>
      (f.method === '*' || f.method === method.toUpperCase())
      && f.resource === resource.toLowerCase()
      && (f.name === undefined || f.name === name)
      && (f.action === undefined || f.action === action?.toLowerCase()));
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.remaining -= 1;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f;
  }
}
