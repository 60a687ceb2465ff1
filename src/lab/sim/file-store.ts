// One node's file system as NITRO `systemfile` sees it. Each HA node has its own: files reach
// the secondary only through the HA file sync, which is the point of simulating it.
import { NitroFault } from './nitro-errors.js';

export interface StoredFile {
  content: Buffer;
  mtime: Date;
}

export const SSL_DIR = '/nsconfig/ssl';

export function normLocation(loc: string): string {
  const trimmed = loc.trim().replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

export class FileStore {
  private readonly dirs = new Map<string, Map<string, StoredFile>>();

  private dir(loc: string, create = false): Map<string, StoredFile> | undefined {
    const key = normLocation(loc);
    let d = this.dirs.get(key);
    if (!d && create) {
      d = new Map();
      this.dirs.set(key, d);
    }
    return d;
  }

  get(loc: string, name: string): StoredFile | undefined {
    return this.dir(loc)?.get(name);
  }

  list(loc: string): [string, StoredFile][] {
    return [...(this.dir(loc)?.entries() ?? [])].sort(([a], [b]) => a.localeCompare(b));
  }

  /** Never overwrites: the appliance refuses an existing name with 1642. */
  add(loc: string, name: string, content: Buffer): void {
    const d = this.dir(loc, true)!;
    if (d.has(name)) throw new NitroFault(1642, `${normLocation(loc)}/${name}`);
    d.set(name, { content, mtime: new Date() });
  }

  remove(loc: string, name: string): boolean {
    return this.dir(loc)?.delete(name) ?? false;
  }

  /** Makes `target`'s copy of a directory identical to this one (the HA file sync). */
  mirrorTo(target: FileStore, loc: string): void {
    const src = this.dir(loc);
    const copy = new Map<string, StoredFile>();
    for (const [name, f] of src ?? []) copy.set(name, { content: Buffer.from(f.content), mtime: f.mtime });
    target.dirs.set(normLocation(loc), copy);
  }
}
