// Just enough RFC 4514 to split a DN into its first RDN and its parent, and to compare DNs the
// way servers hand them back (slapd lower-cases attribute types; AD does not).

export interface SplitDn {
  /** Attribute type of the first RDN, e.g. `cn`. */
  type: string;
  /** The RDN value, unescaped (`Smith, John` for `cn=Smith\, John`). */
  value: string;
  /** Everything after the first RDN, as written. */
  parent: string;
}

/** Undefined for a multi-valued RDN (`cn=a+uid=b`) or anything we would rather not guess at. */
export function splitDn(dn: string): SplitDn | undefined {
  let i = 0;
  let quoted = false;
  for (; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '+') return undefined;
    else if (!quoted && (c === ',' || c === ';')) break;
  }
  if (i >= dn.length) return undefined;
  const rdn = dn.slice(0, i);
  const eq = rdn.indexOf('=');
  if (eq <= 0) return undefined;
  const raw = rdn.slice(eq + 1).trim();
  if (raw.startsWith('"') || raw.startsWith('#')) return undefined;
  const value = unescapeDnValue(raw);
  if (value === undefined) return undefined;
  return { type: rdn.slice(0, eq).trim(), value, parent: dn.slice(i + 1).trim() };
}

function unescapeDnValue(raw: string): string | undefined {
  if (!raw.includes('\\')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw[i + 1], 'utf8'));
      i += 1;
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A comparison key for DNs: attribute types lower-cased, spaces around separators dropped.
 * Values keep their case: the usual naming attributes are case-insensitive, so we lower-case
 * those too, which is what both AD and slapd do for cn/ou/dc/uid.
 */
export function dnKey(dn: string): string {
  // Hot path of every read-back: skip the regex for DNs as servers send them.
  const lower = dn.toLowerCase();
  return /\s[,=+]|[,=+]\s/.test(lower) ? lower.replace(/\s*([,=+])\s*/g, '$1') : lower;
}
