// The last line of defence for "no secret in any output": every secret the run resolves is
// registered here, and every line a reporter, the journal or the report writes passes through
// `redact`. Steps are still expected never to put a secret in an event in the first place.
const known = new Set<string>();
const SENSITIVE_KEYS = /^(password|passplain|passphrase|filecontent|secret|totpsecret|privatekey|key_pem|passcode|passwd1?)$/i;

export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; secrets this short are refused elsewhere.
  if (value && value.length >= 4) known.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of known) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

/** A deep copy fit for a log: sensitive keys blanked, known secrets masked in every string. */
export function redactValue<T>(value: T): T {
  return walk(value) as T;
}

function walk(v: unknown): unknown {
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map(walk);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SENSITIVE_KEYS.test(k) ? '[redacted]' : walk(x)]));
  }
  return v;
}
