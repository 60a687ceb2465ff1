// The journal's format version. A journal outlives the process that wrote it (resume, rollback
// and `show` read it later, possibly with a newer adc-cutover), so each writing session says
// which format it writes: the `run` record of every attempt and the `rollback-start` of a
// rollback carry `format`. Records belong to the format of the session that wrote them.
//
// Format 1 (no `format` field) kept some facts only in the messages people read: that an
// appliance was left out, the bindings an undo read back, the certkey an undo deleted. Format 2
// gives each its own field. Reading a format-1 session lifts those facts out of its messages
// once, here, as any reader of an old file format must; nothing else reads messages.
import { AdcError, EXIT } from '../errors.js';
import type { Stamped } from './journal.js';

/** The format this version writes. */
export const JOURNAL_FORMAT = 2;

/** The format of each record: that of the last `run` or `rollback-start` before it (or itself). */
export function formatsOf(records: Stamped[], path: string): number[] {
  let current = 1;
  return records.map((r) => {
    if (r.type === 'run' || r.type === 'rollback-start') {
      current = r.format ?? 1;
      if (!Number.isInteger(current) || current < 1 || current > JOURNAL_FORMAT) {
        throw new AdcError(
          `${path}: the run journal is in format ${String(r.format)}, which this adc-cutover cannot read (it reads formats 1 to ${JOURNAL_FORMAT}): use the adc-cutover that wrote it`,
          EXIT.invalidInput,
        );
      }
    }
    return current;
  });
}

/** The records as format 2 has them: format-1 records get the fields format 2 added. */
export function upgradeJournal(records: Stamped[], path: string): Stamped[] {
  const formats = formatsOf(records, path);
  return records.map((r, i) => (formats[i] === 1 ? fromFormat1(r) : r));
}

/** Format 1 wrote a left-out appliance as a skipped target whose message begins so. */
const V1_LEFT_OUT = 'FAILED, left out';
/** Format 1 ended an undo's message with the bindings it read back: "(bound now: a, b)" or "(bound now: none)". */
const V1_BOUND_NOW = /bound now: ([^)]*)\)/;
/** Format 1's message for an undo that deleted the new certkey. */
const V1_CERTKEY_DELETED = /^certkey (\S+) deleted$/;

function fromFormat1(r: Stamped): Stamped {
  if (r.type === 'target') {
    const bound = r.changed?.['bound'];
    const capability = r.changed?.['capability'];
    return {
      ...r,
      ...(r.status === 'skipped' && r.message.startsWith(V1_LEFT_OUT) ? { leftOut: true } : {}),
      ...(isNameList(bound) ? { bound } : {}),
      ...(capability === 'multi' || capability === 'single' || capability === 'unknown' ? { capability } : {}),
    };
  }
  if (r.type === 'undo') {
    const listed = V1_BOUND_NOW.exec(r.message)?.[1]?.trim();
    const deleted = r.status === 'undone' ? V1_CERTKEY_DELETED.exec(r.message)?.[1] : undefined;
    return {
      ...r,
      ...(listed !== undefined ? { bound: listed === 'none' || listed === '' ? [] : listed.split(/,\s*/) } : {}),
      ...(deleted ? { certkeyDeleted: deleted } : {}),
    };
  }
  return r;
}

function isNameList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((k) => typeof k === 'string');
}
