// The journal's change records, typed per action. A step writes an intent before it changes
// anything and a done once the change is made; a rollback, possibly in a later process and a
// later version, reads them back from the journal file. Each action's two shapes are declared
// once here: writers are held to them by the compiler, and readers get them checked, so a
// rollback reads `c.data.boundBefore` as the string list it is rather than casting JSON.
import { z } from 'zod';
import { AdcError, EXIT } from '../errors.js';
import type { JsonObject } from '../runner/json.js';
import type { ChangeRecord, ChangeState, StepContext } from '../runner/step.js';

const keyList = z.array(z.string());
const jsonObject = z.custom<JsonObject>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a JSON object');

/** The directory jobs: where the backup of the original values went, and what was scanned. */
const directoryJob = {
  intent: z.object({ backupFile: z.string().nullable(), base: z.string(), filter: z.string(), attribute: z.string() }),
  // The engine's summary, kept as the report shows it; no rollback decision rests on it.
  done: jsonObject,
};

const SHAPES = {
  /** A certificate or key file uploaded under a fresh name: the prefix and time pin the names it can take. */
  'upload-file': {
    intent: z.object({ prefix: z.string(), ext: z.string(), when: z.string(), sha256: z.string() }),
    done: z.object({ name: z.string() }),
  },
  /** The new certkey: whether a certkey of that name existed before, and the files it loads. */
  'add-certkey': {
    intent: z.object({ certkey: z.string(), existedBefore: z.boolean(), cert: z.string(), key: z.string() }),
    done: z.object({ certkey: z.string(), created: z.boolean(), adopted: z.boolean() }),
  },
  /**
   * The new key bound as userDataEncryptionKey. `restoreWith`: in the swap phase, the old key
   * this run unbound a step earlier, which must be back before the new one goes.
   */
  bind: {
    intent: z.object({ certkey: z.string(), boundBefore: keyList.default([]), restoreWith: z.string().nullable().default(null) }),
    done: z.object({ applied: z.boolean(), capability: z.enum(['multi', 'single', 'unknown']).optional(), evidence: z.string().optional() }),
  },
  /** The old key unbound. */
  unbind: {
    intent: z.object({ certkey: z.string(), boundBefore: keyList.default([]) }),
    done: z.object({ applied: z.boolean() }),
  },
  rekey: directoryJob,
  encrypt: directoryJob,
  /** The configuration saved: cannot be taken back, only saved again after a rollback. */
  save: {
    intent: z.object({}),
    done: z.object({ lastconfigsavetime: z.string().nullable() }),
  },
  /** OTP encryption turned on, and what it was before. */
  'set-encryption': {
    intent: z.object({ before: z.string() }),
    done: z.object({ applied: z.boolean() }),
  },
} as const;

type Shapes = typeof SHAPES;
export type ChangeAction = keyof Shapes;
export type IntentOf<A extends ChangeAction> = z.input<Shapes[A]['intent']>;
export type DoneOf<A extends ChangeAction> = z.input<Shapes[A]['done']>;

/** A change record as its action has it: `c.action` tells `c.data` and `c.done` apart. */
export type StepChange = {
  [A in ChangeAction]: ChangeState & { action: A; data: z.output<Shapes[A]['intent']>; done?: z.output<Shapes[A]['done']> };
}[ChangeAction];

/** One change of `action`, or none: the narrowing a reader does once it knows the step. */
export type ChangeOf<A extends ChangeAction> = Extract<StepChange, { action: A }>;

/** A journal record that is not what its action writes: a damaged journal or a foreign one. */
export class ChangeRecordError extends AdcError {
  constructor(
    readonly record: ChangeRecord,
    why: string,
  ) {
    super(`journal record ${record.id} (${record.step} on ${record.target}, "${record.action}"): ${why}; undo it by hand`, EXIT.rollbackIncomplete);
  }
}

function isAction(action: string): action is ChangeAction {
  return Object.hasOwn(SHAPES, action);
}

/** The typed view of a change record read from the journal; throws ChangeRecordError when its shape is wrong. */
export function typedChange(r: ChangeRecord): StepChange {
  if (!isAction(r.action)) throw new ChangeRecordError(r, 'no step of this version writes that action');
  const shape = SHAPES[r.action];
  const data = shape.intent.safeParse(r.data);
  if (!data.success) throw new ChangeRecordError(r, `its intent is not as written (${z.prettifyError(data.error)})`);
  let done: unknown;
  if (r.done !== undefined) {
    const d = shape.done.safeParse(r.done);
    if (!d.success) throw new ChangeRecordError(r, `its done record is not as written (${z.prettifyError(d.error)})`);
    done = d.data;
  }
  const { data: _raw, done: _rawDone, ...state } = r;
  // Parsed by the schema of r.action itself; the compiler cannot follow that pairing through the lookup.
  return { ...state, data: data.data, ...(done !== undefined ? { done } : {}) } as StepChange;
}

/** A journaled intent, waiting for the done that completes it. */
export interface PendingChange<A extends ChangeAction> {
  readonly id: number;
  done(data: DoneOf<A>): Promise<void>;
}

/** Journal (write-ahead, fsync'd) that `action` is about to change `target`. */
export async function intend<A extends ChangeAction>(ctx: StepContext, target: string, action: A, data: IntentOf<A>): Promise<PendingChange<A>> {
  const id = await ctx.journal.intent(target, action, toJson(data));
  return { id, done: (d) => ctx.journal.done(id, toJson(d)) };
}

/**
 * The shapes above hold only strings, numbers, booleans, null, lists and objects of those; an
 * optional field left out is dropped by JSON anyway. The compiler sees optional fields as
 * possibly undefined, which JsonObject does not admit.
 */
function toJson(v: object): JsonObject {
  return v as JsonObject;
}
