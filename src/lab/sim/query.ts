// NITRO query strings: `?args=k:v,k2:v2`, `?filter=…`, `?attrs=a,b`, `?action=verb`, `?count=yes`.
// Values inside args are URL-encoded but the `:` and `,` separators are literal, so split the raw
// text before decoding (a decoded %2C must not split a value).

export interface NitroQuery {
  args: Map<string, string>;
  filter: Map<string, string>;
  attrs?: string[];
  action?: string;
  count: boolean;
  warning: boolean;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function pairs(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of raw.split(',')) {
    if (!part) continue;
    const i = part.indexOf(':');
    if (i < 0) out.set(decode(part).toLowerCase(), '');
    else out.set(decode(part.slice(0, i)).toLowerCase(), decode(part.slice(i + 1)));
  }
  return out;
}

export function parseQuery(rawQuery: string): NitroQuery {
  const q: NitroQuery = { args: new Map(), filter: new Map(), count: false, warning: false };
  for (const item of rawQuery.split('&')) {
    if (!item) continue;
    const eq = item.indexOf('=');
    const key = decode(eq < 0 ? item : item.slice(0, eq)).toLowerCase();
    const raw = eq < 0 ? '' : item.slice(eq + 1);
    if (key === 'args') q.args = pairs(raw);
    else if (key === 'filter') q.filter = pairs(raw);
    else if (key === 'attrs') q.attrs = decode(raw).split(',').filter(Boolean);
    else if (key === 'action') q.action = decode(raw);
    else if (key === 'count') q.count = decode(raw).toLowerCase() === 'yes';
    else if (key === 'warning') q.warning = decode(raw).toLowerCase() === 'yes';
  }
  return q;
}

/** Applies ?filter, ?attrs and ?count to a list reply, as NITRO does for any GET. */
export function shapeList(items: Record<string, unknown>[], q: NitroQuery): Record<string, unknown>[] {
  let out = items;
  if (q.filter.size > 0) {
    out = out.filter((it) => [...q.filter].every(([k, v]) => String(it[k] ?? '') === v));
  }
  if (q.count) return [{ __count: out.length }];
  if (q.attrs) {
    const keep = new Set(q.attrs.map((a) => a.toLowerCase()));
    out = out.map((it) => Object.fromEntries(Object.entries(it).filter(([k]) => keep.has(k.toLowerCase()))));
  }
  return out;
}
