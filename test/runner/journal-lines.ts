// Journal files written line by line, as a run leaves them on disk: what the unit tests of the
// journal and of the steps' rollback decisions read back through the real reader.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Stamps each record as the journal does (time, sequence) and writes one JSON object a line. */
export function journalFile(records: Record<string, unknown>[], opts: { tail?: string } = {}): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'adc-journal-'));
  const path = join(dir, 'events.jsonl');
  const start = Date.parse('2026-11-23T09:43:00Z');
  const lines = records.map((r, i) => JSON.stringify({ t: new Date(start + i * 1000).toISOString(), seq: i + 1, ...r }));
  writeFileSync(path, lines.join('\n') + '\n' + (opts.tail ?? ''));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `run` record of an attempt; `format` absent is how a format-1 journal has it. */
export function runRecord(attempt: number, format?: number): Record<string, unknown> {
  return {
    type: 'run',
    ...(format !== undefined ? { format } : {}),
    runId: '20261123T094300Z-abcdef',
    playbook: '/p.yaml',
    inventory: '/i.yaml',
    params: {},
    planHash: '0123456789abcdef',
    dryRun: false,
    user: 'op',
    host: 'h',
    attempt,
  };
}
