// Secrets in playbooks and inventories are references, never literals: ${env:NAME} or
// ${file:path}. They are resolved only when a step needs them, and the resolved value lives
// in memory only.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';

const REF = /^\$\{(env|file):([^}]+)\}$/;

export interface SecretRef {
  kind: 'env' | 'file';
  name: string;
  /** How it was written, for messages: "${env:ADC_PASS}". Never the value. */
  text: string;
}

/** A zod field that accepts only a secret reference and refuses a literal. */
export const secretRefSchema = z.string().transform((s, ctx): SecretRef => {
  const m = s.match(REF);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: 'a literal secret is not allowed here: write ${env:NAME} or ${file:path}' });
    return z.NEVER;
  }
  return { kind: m[1] as 'env' | 'file', name: m[2], text: s };
});

export async function resolveSecret(ref: SecretRef, baseDir: string): Promise<string> {
  if (ref.kind === 'env') {
    const v = process.env[ref.name];
    if (v === undefined || v === '') throw new InputError(`${ref.text}: environment variable ${ref.name} is not set`);
    return v;
  }
  const path = isAbsolute(ref.name) ? ref.name : resolve(baseDir, ref.name);
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new InputError(`${ref.text}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
