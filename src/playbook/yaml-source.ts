// YAML files whose validation errors point at a line: every zod issue is mapped back to the
// node it came from, so an operator reads "inventory.yaml:14 appliances[1].tls: …".
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { InputError, errorMessage } from '../errors.js';

export class ConfigError extends InputError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}${field ? ` ${field}` : ''}: ${detail}`);
  }
}

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
}

export async function readYaml(file: string): Promise<YamlSource & { data: unknown }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    // linePos is only filled in with prettyErrors; the offset always is.
    const line = first.linePos?.[0]?.line ?? (first.pos ? lines.linePos(first.pos[0]).line : undefined);
    throw new ConfigError(file, line, '', `not valid YAML: ${first.message.split('\n')[0]}`);
  }
  return { file, doc, lines, data: doc.toJS() };
}

export function lineOf(src: YamlSource, path: (string | number)[]): number | undefined {
  // Walk up until a node exists: a missing field is reported at its parent's line.
  for (let p = [...path]; ; p = p.slice(0, -1)) {
    const node = p.length ? src.doc.getIn(p, true) : src.doc.contents;
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return src.lines.linePos(range[0]).line;
    if (p.length === 0) return undefined;
  }
}

export function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** Validate with zod; the first problem becomes a ConfigError with file, line and field. */
export function validate<T extends z.ZodType>(src: YamlSource & { data: unknown }, schema: T): z.infer<T> {
  const r = schema.safeParse(src.data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
  const extra = keys.length && !keys.every((k) => issue.message.includes(k)) ? ` (${keys.join(', ')})` : '';
  // An unknown key is reported at its own line, not at the start of the object holding it.
  const at = issue.code === 'unrecognized_keys' ? [...path, (issue as { keys: string[] }).keys[0]] : path;
  throw new ConfigError(src.file, lineOf(src, at), fieldName(path), issue.message + extra);
}
