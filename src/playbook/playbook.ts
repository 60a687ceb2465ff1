// A playbook: a named list of steps with parameters. Validated with zod; `--set k=v` overrides
// top-level params (typed by the schema, so "--set includeLegacy=true" becomes a boolean).
import { z } from 'zod';
import { ConfigError, readYaml, validate } from './yaml-source.js';

export const STEP_KINDS = [
  'preflight', 'import-certkey', 'bind-new-key', 'rekey-directory', 'logon-check', 'unbind-old-key',
  'save-config', 'otp-encryption-on',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

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
});
export type PlaybookParams = z.infer<typeof paramsSchema>;

const stepSchema = z.strictObject({
  uses: z.enum(STEP_KINDS),
  id: z.string().regex(/^[a-z0-9-]+(#\d+)?$/).optional(),
  title: z.string().optional(),
  /** Per-step options (e.g. logon-check phase, bind-new-key phase). */
  with: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});

export const playbookSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  params: paramsSchema.default(paramsSchema.parse({})),
  steps: z.array(stepSchema).min(1),
});

export type Playbook = z.infer<typeof playbookSchema> & { file: string };
export type PlaybookStep = Playbook['steps'][number] & { id: string };

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
