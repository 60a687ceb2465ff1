// What a run was started with, byte for byte: a sha256 of the playbook, the inventory and each
// certificate and key file the inventory names, kept in the journal's `run` record. A resume
// with other files would go on with another plan, or move users to a certificate the appliances
// never loaded; a rollback with other key material would restore the directory under the wrong
// key. Hashes only: a hash of a key file says nothing about the key.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { JsonObject } from '../runner/json.js';
import type { Inventory } from '../playbook/inventory.js';

export interface InputHash {
  path: string;
  sha256: string;
}

/** By what the file is to the run: `playbook`, `inventory`, `certificates.new.cert`, … */
export type InputHashes = Record<string, InputHash>;

export const CERTIFICATE_INPUTS = /^certificates\./;

export function hashInputs(playbookFile: string, inv: Inventory): InputHashes {
  const files: [string, string | undefined][] = [
    ['playbook', resolve(playbookFile)],
    ['inventory', inv.file],
    ['certificates.old.cert', inv.certificates.old.cert],
    ['certificates.old.key', inv.certificates.old.key],
    ['certificates.new.cert', inv.certificates.new.cert],
    ['certificates.new.key', inv.certificates.new.key],
  ];
  const out: InputHashes = {};
  for (const [label, path] of files) {
    if (path === undefined) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new InputError(`${label}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    out[label] = { path, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return out;
}

/** The hashes a journal's `run` record carries, or undefined (a journal from before they were kept). */
export function recordedInputs(value: JsonObject | undefined): InputHashes | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const out: InputHashes = {};
  for (const [label, v] of Object.entries(value)) {
    const h = v as { path?: unknown; sha256?: unknown } | null;
    if (h && typeof h.path === 'string' && typeof h.sha256 === 'string') out[label] = { path: h.path, sha256: h.sha256 };
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * Each input among `labels` (all when absent) whose bytes differ from what run `runId` started
 * with, in words. A file the run had and the inventory no longer names (or the other way round)
 * differs too.
 */
export function changedInputs(runId: string, then: InputHashes, now: InputHashes, labels: (label: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (const label of new Set([...Object.keys(then), ...Object.keys(now)])) {
    if (!labels(label)) continue;
    const a = then[label];
    const b = now[label];
    if (a && b && a.sha256 === b.sha256) continue;
    if (a && b) {
      const where = a.path === b.path ? b.path : `${b.path} (was ${a.path})`;
      out.push(`${label} ${where} changed since run ${runId} started: sha256 ${a.sha256.slice(0, 16)}… then, ${b.sha256.slice(0, 16)}… now`);
    } else if (a) {
      out.push(`${label}: run ${runId} started with ${a.path}; the inventory names none now`);
    } else if (b) {
      out.push(`${label}: the inventory names ${b.path} now; run ${runId} started without one`);
    }
  }
  return out;
}
