// Injected faults for tests and rehearsals. A rule matches "METHOD resource[/name][?action=verb]"
// (the action part may also be written "?verb"); without an action it matches any action.
import type { FaultSpec } from './types.js';

interface Rule {
  method: string;
  resource: string;
  name?: string;
  action?: string;
}

export interface ActiveFault extends Rule {
  /** Hold the write until a request matching this rule has been served. */
  holdUntil?: Rule;
  errorcode?: number;
  /** Answer a GET with errorcode 0 and these fields instead of the real ones. */
  reply?: Record<string, unknown>;
  drop: boolean;
  delayMs: number;
  remaining: number;
  /** Matching requests still to let through before the fault applies. */
  skip: number;
  on: string;
}

function parseRule(text: string, field: string): Rule {
  const m = text.trim().match(/^([A-Za-z*]+)\s+([^?\s]+)(?:\?(.*))?$/);
  if (!m) throw new Error(`fault "${field}" must look like "POST sslcertkey" or "POST nsconfig?action=save", got "${text}"`);
  const [, method, path, actionPart] = m;
  const [resource, ...rest] = path.split('/');
  const action = actionPart ? actionPart.replace(/^action=/i, '') : undefined;
  return {
    method: method.toUpperCase(),
    resource: resource.toLowerCase(),
    ...(rest.length > 0 ? { name: rest.join('/') } : {}),
    ...(action ? { action: action.toLowerCase() } : {}),
  };
}

function matches(f: Rule, method: string, resource: string, name: string | undefined, action: string | undefined): boolean {
  return (
    (f.method === '*' || f.method === method.toUpperCase()) &&
    f.resource === resource.toLowerCase() &&
    (f.name === undefined || f.name === name) &&
    (f.action === undefined || f.action === action?.toLowerCase())
  );
}

export function parseFaultSpec(spec: FaultSpec): ActiveFault {
  const rule = parseRule(spec.on, 'on');
  const hasEffect = spec.errorcode !== undefined || spec.drop === true || (spec.delayMs ?? 0) > 0 || spec.holdUntil !== undefined || spec.reply !== undefined;
  if (!hasEffect) throw new Error('a fault needs errorcode, drop, delayMs, holdUntil or reply');
  if (spec.reply !== undefined) {
    if (rule.method !== 'GET') throw new Error('reply replaces what a GET answers; give a GET rule');
    if (spec.reply === null || typeof spec.reply !== 'object' || Array.isArray(spec.reply)) throw new Error('reply must be a JSON object (the fields beside errorcode)');
  }
  if (spec.holdUntil !== undefined && rule.method === 'GET') throw new Error('holdUntil holds a write; a GET has nothing to apply late');
  const times = spec.times ?? 1;
  if (!Number.isInteger(times) || times < 1) throw new Error('times must be a positive integer');
  const skip = spec.skip ?? 0;
  if (!Number.isInteger(skip) || skip < 0) throw new Error('skip must be a whole number, 0 or more');
  return {
    ...rule,
    ...(spec.holdUntil !== undefined ? { holdUntil: parseRule(spec.holdUntil, 'holdUntil') } : {}),
    ...(spec.errorcode !== undefined ? { errorcode: spec.errorcode } : {}),
    ...(spec.reply !== undefined ? { reply: spec.reply } : {}),
    drop: spec.drop === true,
    delayMs: spec.delayMs ?? 0,
    remaining: times,
    skip,
    on: spec.on,
  };
}

export class FaultTable {
  private faults: ActiveFault[] = [];
  private held: { until: Rule; apply: () => void }[] = [];

  add(spec: FaultSpec): ActiveFault {
    const f = parseFaultSpec(spec);
    this.faults.push(f);
    return f;
  }

  /** Also forgets held writes: a test's clean slate has nothing left to land. */
  clear(): void {
    this.faults = [];
    this.held = [];
  }

  hold(until: Rule, apply: () => void): void {
    this.held.push({ until, apply });
  }

  /** After a request was served: apply the held writes it was the trigger for. */
  release(method: string, resource: string, name: string | undefined, action: string | undefined): void {
    const due = this.held.filter((h) => matches(h.until, method, resource, name, action));
    if (due.length === 0) return;
    this.held = this.held.filter((h) => !due.includes(h));
    for (const h of due) h.apply();
  }

  list(): ActiveFault[] {
    return [...this.faults];
  }

  /**
   * The first matching fault that is not skipping any more, counted down (and removed when used
   * up). Every matching fault still skipping counts this request as one it let through.
   */
  take(method: string, resource: string, name: string | undefined, action: string | undefined): ActiveFault | undefined {
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i];
      if (!matches(f, method, resource, name, action)) continue;
      if (f.skip > 0) {
        f.skip -= 1;
        continue;
      }
      f.remaining -= 1;
      if (f.remaining <= 0) this.faults.splice(i, 1);
      return f;
    }
    return undefined;
  }
}
