// A small client for the simulator's /__lab control endpoint (tests, `adc-cutover lab fault`).
import type { NodeStateDump } from './control.js';
import type { FaultSpec, SimGatewayOptions } from './types.js';

async function call(url: string, method: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const msg = (parsed as { error?: string }).error ?? text;
    throw new Error(`${method} ${url}: HTTP ${res.status}: ${msg}`);
  }
  return parsed;
}

function base(controlUrl: string): string {
  return controlUrl.replace(/\/+$/, '');
}

export async function injectFault(controlUrl: string, fault: FaultSpec): Promise<void> {
  await call(`${base(controlUrl)}/fault`, 'POST', fault);
}

export async function clearFaults(controlUrl: string): Promise<void> {
  await call(`${base(controlUrl)}/fault`, 'DELETE');
}

/** Swaps primary and secondary of the pair this node belongs to; returns the new primary's name. */
export async function failover(controlUrl: string): Promise<string> {
  const r = (await call(`${base(controlUrl)}/failover`, 'POST')) as { primary: string };
  return r.primary;
}

export async function labState(controlUrl: string): Promise<NodeStateDump> {
  return (await call(`${base(controlUrl)}/state`, 'GET')) as NodeStateDump;
}

/** The gateway's nFactor policy: passcode in the login form, or asked in a second round. */
export async function setOtpFactor(controlUrl: string, otpFactor: 'combined' | 'separate'): Promise<void> {
  await call(`${base(controlUrl)}/gateway`, 'PUT', { otpFactor });
}

/** Replaces the gateway's behaviour options (SimGatewayOptions) as a whole; {} restores the defaults. */
export async function setGatewayOptions(controlUrl: string, options: SimGatewayOptions): Promise<void> {
  await call(`${base(controlUrl)}/gateway`, 'PUT', options);
}
