// What a resource handler gets: the parsed request and the node it arrived at.
import type { SimNode } from './appliance-state.js';
import { NitroFault } from './nitro-errors.js';
import type { NitroQuery } from './query.js';

export interface NitroRequest {
  method: string;
  resource: string;
  name?: string;
  query: NitroQuery;
  body?: Record<string, unknown>;
  node: SimNode;
  /** Under /nitro/v1/stat/ rather than /nitro/v1/config/. */
  stat?: boolean;
}

/** The resource object of a write body (`{"<resource>": {...}}`); 278 when it is missing. */
export function payload(req: NitroRequest): Record<string, unknown> {
  const p = req.body?.[req.resource];
  if (p === null || typeof p !== 'object' || Array.isArray(p)) {
    throw new NitroFault(278, `body must be {"${req.resource}":{...}}`);
  }
  return p as Record<string, unknown>;
}

export function str(obj: Record<string, unknown>, field: string, required: true): string;
export function str(obj: Record<string, unknown>, field: string, required?: false): string | undefined;
export function str(obj: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw new NitroFault(278, `Required argument missing: ${field}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new NitroFault(278, `${field} must be a string`);
  return v;
}

export function actionRequired(req: NitroRequest, allowed: string[]): string {
  const a = req.query.action?.toLowerCase();
  if (!a || !allowed.includes(a)) throw new NitroFault(278, `action must be one of ${allowed.join(', ')}`);
  return a;
}
