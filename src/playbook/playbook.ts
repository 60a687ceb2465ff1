// A playbook: a named list of steps with parameters. Validated with zod; `--set k=v` overrides
// top-level params (typed by the schema, so "--set includeLegacy=true" becomes a boolean).
import { z } from 'zod';
import { ConfigError, readYaml, validate } from './yaml-source.js';

export const paramsSchema = z.strictObject({
  /** overlap: bind new before re-encrypting (firmware with several bindings); swap: one binding at a time; auto: find out. */
  mode: z.enum(['auto', 'overlap', 'swap']).default('auto'),
  includeLegacy: z.boolean().default(false),
  concurrency: z.number().int().min(1).max(64).optional(),
  rate: z.number().positive().optional(),
  maxFailures: z.number().int().min(0).default(0),
  /** Name for the new certkey on the appliances (default: from the certificate's validity). */
  newCertkey: z.string().max(31).optional(),
  /** How long to wait for the HA secondary to see the new files. */
  haSyncTimeoutSec: z.number().int().min(0).default(120),
  /** Fleet failure budget: appliances that may fail before the run stops and rolls back. */
  maxFailedAppliances: z.number().int().min(0).default(0),
  parallel: z.number().int().min(1).max(32).default(4),
  /**
   * How long the unbind waits for every directory server to show no device under the old
   * certificate (replication): seconds, or 90s / 15m / 1h. Default 15 minutes.
   */
  replicationTimeout: z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?(s|m|h)$/, 'a duration such as 90s, 15m or 1h')]).default(900),
  /** Directory servers the unbind guard may find unreachable, by name (comma-separated); the report names them. */
  allowUnreachable: z.string().optional(),
});
export type PlaybookParams = z.infer<typeof paramsSchema>;

// Each step kind takes exactly the options it reads, typed: a typo ("phase: Swap", "phase: swp",
// "phse: swap") is refused with the playbook's file and line instead of quietly becoming the
// default — a swap step read as a second overlap step once saved a configuration with no key.
const stepCommon = {
  id: z
    .string()
    .regex(/^[a-z0-9-]+(#\d+)?$/)
    .optional(),
  title: z.string().optional(),
};

/** A step's `with:` block: only these keys, and a message that says which ones there are. */
function options<S extends z.ZodRawShape>(kind: string, shape: S) {
  const known = Object.keys(shape);
  const schema = z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `${kind} has no option ${iss.keys.join(', ')}${known.length ? ` (its options: ${known.join(', ')})` : ' (it takes no options)'}` : undefined),
  });
  // Every option has a default or is optional, so an absent `with:` is an empty one.
  return schema.prefault({} as z.input<typeof schema>);
}

/** An option with a fixed set of values; the message repeats what was given. */
function oneOf<const V extends readonly [string, ...string[]]>(values: V) {
  return z.enum(values, { error: (iss) => `expected ${values.join(' or ')}, not ${JSON.stringify(iss.input)}` });
}

const stepVariants = [
  z.strictObject({
    uses: z.literal('preflight'),
    ...stepCommon,
    with: options('preflight', {
      /** false: an appliance with no userDataEncryptionKey bound yet is fine (first encryption). */
      requireOldBound: z.boolean().default(true),
    }),
  }),
  z.strictObject({ uses: z.literal('import-certkey'), ...stepCommon, with: options('import-certkey', {}) }),
  z.strictObject({
    uses: z.literal('bind-new-key'),
    ...stepCommon,
    /** overlap: next to the old key, before re-encrypting; swap: right after unbind-old-key. */
    with: options('bind-new-key', { phase: oneOf(['overlap', 'swap']).default('overlap') }),
  }),
  z.strictObject({
    uses: z.literal('rekey-directory'),
    ...stepCommon,
    /** rekey: old certificate → new; encrypt-legacy: plaintext values → new certificate. */
    with: options('rekey-directory', { job: oneOf(['rekey', 'encrypt-legacy']).default('rekey') }),
  }),
  z.strictObject({
    uses: z.literal('logon-check'),
    ...stepCommon,
    /** before: under the old key; after-rekey: appliances still on the old key alone are left for later; final. */
    with: options('logon-check', { phase: oneOf(['before', 'after-rekey', 'final']).optional() }),
  }),
  z.strictObject({ uses: z.literal('unbind-old-key'), ...stepCommon, with: options('unbind-old-key', {}) }),
  z.strictObject({ uses: z.literal('save-config'), ...stepCommon, with: options('save-config', {}) }),
  z.strictObject({ uses: z.literal('otp-encryption-on'), ...stepCommon, with: options('otp-encryption-on', {}) }),
] as const;

export const STEP_KINDS = stepVariants.map((v) => v.shape.uses.value);
export type StepKind = (typeof STEP_KINDS)[number];

const stepSchema = z.discriminatedUnion('uses', stepVariants, {
  error: (iss) => {
    if (iss.code !== 'invalid_union') return undefined;
    const uses = (iss.input as { uses?: unknown } | undefined)?.uses;
    return `${uses === undefined ? 'no step named (uses:)' : `unknown step ${JSON.stringify(uses)}`}; the steps are ${STEP_KINDS.join(', ')}`;
  },
});

export const playbookSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  params: paramsSchema.default(paramsSchema.parse({})),
  steps: z.array(stepSchema).min(1),
});

export type Playbook = z.infer<typeof playbookSchema> & { file: string };
export type PlaybookStep = Playbook['steps'][number] & { id: string };
/** The typed `with:` options of one step kind. */
export type StepOptions<K extends StepKind> = Extract<PlaybookStep, { uses: K }>['with'];

export async function loadPlaybook(file: string, sets: string[] = []): Promise<Playbook & { steps: PlaybookStep[] }> {
  const src = await readYaml(file);
  const raw = src.data as { params?: Record<string, unknown> } | null;
  if (raw && typeof raw === 'object') raw.params = { ...(raw.params ?? {}), ...parseSets(file, sets) };
  const pb = validate(src, playbookSchema);
  const seen = new Map<string, number>();
  const steps = pb.steps.map((s) => {
    const n = (seen.get(s.uses) ?? 0) + 1;
    seen.set(s.uses, n);
    return { ...s, id: s.id ?? (n === 1 ? s.uses : `${s.uses}#${n}`) };
  });
  return { ...pb, steps, file };
}

function parseSets(file: string, sets: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(file, undefined, `--set ${s}`, 'expected key=value');
    const key = s.slice(0, eq);
    const text = s.slice(eq + 1);
    out[key] = text === 'true' ? true : text === 'false' ? false : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
  }
  return out;
}
