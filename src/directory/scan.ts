// Streaming reads: a paged scan that hands out one page at a time (the next page is fetched only
// when the consumer asks, so memory stays flat for any number of users), a quick count, and a
// batched read-back of many entries with one search per parent container.
import type { Entry, SearchOptions } from 'ldapts';
import type { DirectoryClient } from './connect.js';
import { BadSearchBase, DirectoryError, NoSuchEntry } from './errors.js';
import { dnKey, splitDn } from './dn.js';
import { andFilter, checkAttributeName, checkFilter, equalityFilter, orFilter, presentFilter } from './filter.js';

export interface ScannedEntry {
  dn: string;
  /** Every value of the attribute, as stored ([] when absent). Secret-bearing: never log. */
  values: string[];
  /** Values of the extra attributes asked for (KBA, alternate e-mail, …). */
  extra: Record<string, string[]>;
}

export interface ScanOptions {
  base: string;
  /** The operator's filter, e.g. `(objectClass=user)`; combined with the attribute's presence. */
  filter?: string;
  attribute: string;
  pageSize?: number;
  /** Only entries that hold the attribute (default true); the census wants every entry. */
  onlyWithAttribute?: boolean;
  extraAttributes?: string[];
}

export const DEFAULT_PAGE_SIZE = 500;

export function scanFilter(opts: Pick<ScanOptions, 'filter' | 'attribute' | 'onlyWithAttribute'>): string {
  const base = opts.filter?.trim() || '(objectClass=*)';
  return opts.onlyWithAttribute === false ? andFilter(base) : andFilter(base, presentFilter(opts.attribute));
}

export async function* scanPages(client: DirectoryClient, opts: ScanOptions): AsyncGenerator<ScannedEntry[]> {
  checkAttributeName(opts.attribute);
  const extra = opts.extraAttributes ?? [];
  extra.forEach(checkAttributeName);
  const pages = searchUnder(client, opts.base, opts.filter, {
    scope: 'sub',
    filter: scanFilter(opts),
    attributes: [opts.attribute, ...extra],
    pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
  });
  for await (const page of pages) {
    yield page.map((e) => ({
      dn: e.dn,
      values: valuesOf(e, opts.attribute),
      extra: Object.fromEntries(extra.map((a) => [a, valuesOf(e, a)])),
    }));
  }
}

export async function* scan(client: DirectoryClient, opts: ScanOptions): AsyncGenerator<ScannedEntry> {
  for await (const page of scanPages(client, opts)) yield* page;
}

/** How many entries a scan would visit, without fetching any attribute. */
export async function countEntries(client: DirectoryClient, opts: Omit<ScanOptions, 'extraAttributes'>): Promise<number> {
  let n = 0;
  for await (const page of searchUnder(client, opts.base, opts.filter, {
    scope: 'sub',
    filter: scanFilter(opts),
    attributes: ['1.1'],
    pageSize: Math.max(opts.pageSize ?? DEFAULT_PAGE_SIZE, 1000),
  }))
    n += page.length;
  return n;
}

/**
 * A paged search under the operator's base with the operator's filter, each judged as input: a
 * filter that does not parse is refused before the search, and a base the server does not know
 * (32) or cannot read as a DN (34) on the first page is BadSearchBase — both exit 2, not
 * "directory unavailable". Later pages failing are the directory's failures, as before.
 */
async function* searchUnder(client: DirectoryClient, base: string, operatorFilter: string | undefined, options: SearchOptions & { pageSize: number }): AsyncGenerator<Entry[]> {
  if (operatorFilter?.trim()) checkFilter(operatorFilter);
  let first = true;
  try {
    for await (const page of client.searchPages(base, options)) {
      first = false;
      yield page;
    }
  } catch (err) {
    if (first && err instanceof DirectoryError && (err.resultCode === 32 || err.resultCode === 34)) throw new BadSearchBase(base, err.resultCode, { cause: err });
    throw err;
  }
}

/** ldapts hands back a string, an array, or [] for an absent attribute; attribute names are case-insensitive. */
export function valuesOf(entry: Entry, attribute: string): string[] {
  const want = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k.toLowerCase() === want);
  const v = key === undefined ? undefined : entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/** One entry's attribute values; throws NoSuchEntry when the entry is gone. */
export async function readValue(client: DirectoryClient, dn: string, attribute: string): Promise<string[]> {
  checkAttributeName(attribute);
  const [entry] = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [attribute] });
  if (!entry) throw new NoSuchEntry(`read ${dn}: the entry is not there`, dn, 32);
  return valuesOf(entry, attribute);
}

/**
 * Reads many entries back with one search per parent container: `(|(cn=a)(cn=b)…)` one level
 * under the parent, so verifying a group of writes costs one round trip, not one per entry.
 * Entries whose DN we cannot split safely are read one by one. Missing entries are absent from
 * the map. Keys are dnKey(dn).
 */
export async function readValues(client: DirectoryClient, dns: string[], attribute: string, maxPerSearch = 200): Promise<Map<string, string[]>> {
  checkAttributeName(attribute);
  const out = new Map<string, string[]>();
  const groups = new Map<string, { parent: string; type: string; values: string[] }>();
  const singles: string[] = [];
  for (const dn of dns) {
    const s = splitDn(dn);
    if (!s || !/^[A-Za-z][A-Za-z0-9-]*$/.test(s.type)) {
      singles.push(dn);
      continue;
    }
    const gk = `${s.type.toLowerCase()}|${dnKey(s.parent)}`;
    const g = groups.get(gk) ?? { parent: s.parent, type: s.type, values: [] };
    g.values.push(s.value);
    groups.set(gk, g);
  }
  const wanted = new Set(dns.map(dnKey));
  const searches: Promise<void>[] = [];
  for (const g of groups.values()) {
    for (let i = 0; i < g.values.length; i += maxPerSearch) {
      const slice = g.values.slice(i, i + maxPerSearch);
      searches.push(
        client
          .search(g.parent, {
            scope: 'one',
            filter: orFilter(slice.map((v) => equalityFilter(g.type, v))),
            attributes: [attribute],
            sizeLimit: 0,
          })
          .then((entries) => {
            // Only what we asked for: a same-named sibling under a differently spelled parent cannot sneak in.
            for (const e of entries) if (wanted.has(dnKey(e.dn))) out.set(dnKey(e.dn), valuesOf(e, attribute));
          }),
      );
    }
  }
  for (const dn of singles) {
    searches.push(
      readValue(client, dn, attribute).then(
        (v) => void out.set(dnKey(dn), v),
        (err: unknown) => {
          if (!(err instanceof NoSuchEntry)) throw err;
        },
      ),
    );
  }
  const settled = await Promise.allSettled(searches);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return out;
}
