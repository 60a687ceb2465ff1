// Everything in a report that came from outside — DNs, NITRO and LDAP messages, certkey names,
// file paths — goes through here before it touches markup. One function for text and attribute
// values alike: escaping both quote kinds makes it safe in either place.
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A value safe inside an `id` or `data-*` name fragment: letters, digits, dash, underscore only. */
export function slug(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}
