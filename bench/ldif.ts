// The ceilings' workload, written to disk as it is computed: one streaming scan of the current
// values, each re-keyed to the other certificate (untimed), and the compare-and-swap modify for
// it — delete the exact value read, add the new one, in one change record — appended to one of
// N LDIF files, a group of entries at a time, round-robin. Files, not arrays: the benchmark's
// own memory stays flat at any user count.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { scanPages, type DirectoryClient } from '../src/directory/index.js';
import { Keyring, rekeyValues, type OtpKeyMaterial } from '../src/otp/index.js';
import { ATTRIBUTE } from './seed.js';

export interface CasLdif {
  files: string[];
  entries: number;
}

/** One LDIF change record; values are plain ASCII JSON that LDIF takes as it is (no base64). */
function changeRecord(dn: string, from: string, to: string): string {
  return `dn: ${dn}\nchangetype: modify\ndelete: ${ATTRIBUTE}\n${ATTRIBUTE}: ${from}\n-\nadd: ${ATTRIBUTE}\n${ATTRIBUTE}: ${to}\n-\n\n`;
}

const SAFE = /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/;

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export async function writeCasLdif(conn: DirectoryClient, base: string, from: OtpKeyMaterial, to: OtpKeyMaterial, dir: string, parts: number, groupSize: number, pageSize: number): Promise<CasLdif> {
  const files = Array.from({ length: parts }, (_, i) => join(dir, `cas-${i}.ldif`));
  const outs = files.map((f) => createWriteStream(f, { mode: 0o600 }));
  const keyring = new Keyring([from]);
  let entries = 0;
  let group = 0;
  let inGroup = 0;
  try {
    for await (const page of scanPages(conn, { base, filter: '(objectClass=user)', attribute: ATTRIBUTE, pageSize })) {
      const values = page.map((e) => e.values[0] ?? '');
      const rekeyed = rekeyValues(values, { from: keyring, to });
      for (let i = 0; i < page.length; i++) {
        const r = rekeyed[i];
        if (!r.ok || r.result.value === undefined) throw new Error(`${page[i].dn}: the seeded value does not re-key`);
        if (!SAFE.test(values[i]) || !SAFE.test(r.result.value)) throw new Error(`${page[i].dn}: a value LDIF would need in base64`);
        await write(outs[group % parts], changeRecord(page[i].dn, values[i], r.result.value));
        entries++;
        if (++inGroup === groupSize) {
          inGroup = 0;
          group++;
        }
      }
    }
  } finally {
    await Promise.all(outs.map((o) => new Promise<void>((resolve, reject) => o.end((err?: Error | null) => (err ? reject(err) : resolve())))));
  }
  return { files, entries };
}

export interface CasChange {
  dn: string;
  from: string;
  to: string;
}

/** Reads one file back as changes, a group at a time (for the in-process ceiling). */
export async function* readCasLdif(file: string, groupSize: number): AsyncGenerator<CasChange[]> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  const prefix = `${ATTRIBUTE}: `;
  let group: CasChange[] = [];
  let dn = '';
  let values: string[] = [];
  for await (const line of lines) {
    if (line.startsWith('dn: ')) {
      dn = line.slice(4);
      values = [];
    } else if (line.startsWith(prefix)) {
      values.push(line.slice(prefix.length));
      if (values.length === 2) {
        group.push({ dn, from: values[0], to: values[1] });
        if (group.length === groupSize) {
          yield group;
          group = [];
        }
      }
    }
  }
  if (group.length > 0) yield group;
}
