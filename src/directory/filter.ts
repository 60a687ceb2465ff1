// RFC 4515 filter building. Every value that enters a filter goes through escapeFilterValue, so
// a sAMAccountName like `*)(uid=*` matches itself and nothing else.
import { FilterParser } from 'ldapts';
import { InputError, errorMessage } from '../errors.js';

/** Escapes a value for use inside an LDAP filter (RFC 4515 §3): `\ * ( )` and NUL become `\XX`. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `(attr=value)` with the value escaped. */
export function equalityFilter(attribute: string, value: string): string {
  checkAttributeName(attribute);
  return `(${attribute}=${escapeFilterValue(value)})`;
}

/** `(attr=*)`: entries that hold the attribute at all. */
export function presentFilter(attribute: string): string {
  checkAttributeName(attribute);
  return `(${attribute}=*)`;
}

export function andFilter(...parts: string[]): string {
  const kept = parts.filter((p) => p.length > 0).map(parenthesize);
  return kept.length === 1 ? kept[0] : `(&${kept.join('')})`;
}

export function orFilter(parts: string[]): string {
  const kept = parts.map(parenthesize);
  return kept.length === 1 ? kept[0] : `(|${kept.join('')})`;
}

/** Operators write `objectClass=user` as often as `(objectClass=user)`; accept both. */
export function parenthesize(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}

const ATTRIBUTE_NAME = /^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)(;[A-Za-z0-9-]+)*$/;

/** An attribute description (name or OID, options allowed): never let a filter through this door. */
export function checkAttributeName(attribute: string): void {
  // Bad input (exit 2), not an internal error: names come from flags and inventories.
  if (!ATTRIBUTE_NAME.test(attribute)) throw new InputError(`"${attribute.slice(0, 60)}" is not an LDAP attribute name`);
}

/**
 * Why an operator's filter does not parse (as ldapts will parse it before sending), or undefined
 * when it does. Found here, before any search, it is bad input; found by the search, ldapts's
 * throw would read as a transport failure ("directory unavailable").
 */
export function filterProblem(filter: string): string | undefined {
  // ldapts forgives a missing ")" at the end ("(&(a=b)"), and would send another filter than the
  // one written. RFC 4515 escapes every parenthesis inside a value, so each one left is structure.
  let depth = 0;
  for (const c of parenthesize(filter)) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) return 'not a valid LDAP filter (unbalanced parentheses)';
  try {
    FilterParser.parseString(parenthesize(filter));
    return undefined;
  } catch (err) {
    return `not a valid LDAP filter (${errorMessage(err).replace(/\. Full string: .*$/s, '')})`;
  }
}

export function checkFilter(filter: string): void {
  const problem = filterProblem(filter);
  if (problem) throw new InputError(`LDAP filter ${JSON.stringify(filter.slice(0, 200))}: ${problem}`);
}
