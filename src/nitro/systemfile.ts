// `systemfile`: the files under /nsconfig/ssl that certkeys point at. Uploads never overwrite
// (the appliance answers 1642 and we pick another name), and a file is only ever deleted by
// the run that created it — the caller passes the names it created.
import { InputError } from '../errors.js';
import type { NitroCallOptions, NitroClient } from './client.js';
import { NITRO_CODE, NitroError, NitroOutcomeUnknownError } from './errors.js';
import { NitroReplyShapeError, oneOf, optionalNumber, optionalString } from './reply-shape.js';
import { awaitChange } from './settle.js';

export const SSL_DIR = '/nsconfig/ssl';
export const MAX_FILE_NAME = 63;
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

export interface SystemFileEntry {
  filename: string;
  filelocation: string;
  filesize: number | undefined;
  filemodifiedtime: string | undefined;
}

function dir(location: string): string {
  return location.replace(/\/+$/, '') || '/';
}

/** NetScaler's rules for a file name under /nsconfig: no path, ≤ 63 chars, safe characters. */
export function validateFileName(name: string): void {
  if (!name || name.length > MAX_FILE_NAME) throw new InputError(`file name "${name}" must be 1–${MAX_FILE_NAME} characters`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new InputError(`file name "${name}" may hold only letters, digits, '.', '_' and '-' (no path)`);
  }
}

export async function uploadSystemFile(client: NitroClient, name: string, bytes: Uint8Array, location: string = SSL_DIR): Promise<void> {
  validateFileName(name);
  if (bytes.byteLength > MAX_FILE_BYTES) throw new InputError(`${name}: ${bytes.byteLength} bytes exceeds the 2 MB NITRO upload limit`);
  await client.request({
    method: 'POST',
    resource: 'systemfile',
    body: {
      systemfile: {
        filename: name,
        filelocation: `${dir(location)}/`,
        filecontent: Buffer.from(bytes).toString('base64'),
        fileencoding: 'BASE64',
      },
    },
  });
}

/** The file's bytes, or undefined when it does not exist. */
export async function readSystemFile(client: NitroClient, name: string, location: string = SSL_DIR, opts?: NitroCallOptions): Promise<Buffer | undefined> {
  validateFileName(name);
  const list = await client.getList<Record<string, unknown>>('systemfile', undefined, { args: { filelocation: dir(location), filename: name } }, opts);
  if (!list?.length) return undefined;
  const item = list.find((f) => f.filename === name);
  if (!item || typeof item.filecontent !== 'string') {
    throw new NitroReplyShapeError(client.appliance, `systemfile/${name}`, item ? 'the row carries no filecontent string' : 'no row carries that file name', list);
  }
  const enc = (oneOf(client.appliance, 'systemfile', item, 'fileencoding', ['BASE64', 'UTF8', 'UTF-8'], false) ?? 'BASE64').toUpperCase();
  return enc === 'BASE64' ? Buffer.from(item.filecontent, 'base64') : Buffer.from(item.filecontent, 'utf8');
}

export async function listSystemFiles(client: NitroClient, location: string = SSL_DIR, opts?: NitroCallOptions): Promise<SystemFileEntry[]> {
  const list = (await client.getList<Record<string, unknown>>('systemfile', undefined, { args: { filelocation: dir(location) } }, opts)) ?? [];
  // Whether a file is there decides which names are free and what a rollback deletes: a row
  // without a file name is not a listing we can read.
  return list.map((f) => {
    const filename = optionalString(client.appliance, 'systemfile', f, 'filename');
    if (filename === undefined) throw new NitroReplyShapeError(client.appliance, 'systemfile', 'a row has no filename', list);
    return {
      filename,
      filelocation: optionalString(client.appliance, 'systemfile', f, 'filelocation') ?? dir(location),
      filesize: optionalNumber(client.appliance, 'systemfile', f, 'filesize'),
      filemodifiedtime: optionalString(client.appliance, 'systemfile', f, 'filemodifiedtime'),
    };
  });
}

export async function systemFileExists(client: NitroClient, name: string, location: string = SSL_DIR, opts?: NitroCallOptions): Promise<boolean> {
  const files = await listSystemFiles(client, location, opts);
  return files.some((f) => f.filename === name);
}

/** Delete one file. Returns false when it was already gone. */
export async function deleteSystemFile(client: NitroClient, name: string, location: string = SSL_DIR): Promise<boolean> {
  validateFileName(name);
  try {
    await client.request({ method: 'DELETE', resource: 'systemfile', name, query: { args: { filelocation: dir(location) } } });
    return true;
  } catch (err) {
    if (err instanceof NitroError && err.hasCode(NITRO_CODE.noSuchResource)) return false;
    if (err instanceof NitroOutcomeUnknownError) {
      await awaitChange(
        err,
        `the removal of ${name}`,
        () => systemFileExists(client, name, location),
        (there) => !there,
      );
      return true;
    }
    throw err;
  }
}

/**
 * Delete exactly the files this run created (the caller's journal says which); files that are
 * already gone count as done. Returns what was deleted and what was already absent.
 */
export async function deleteCreatedFiles(client: NitroClient, created: readonly string[], location: string = SSL_DIR): Promise<{ deleted: string[]; absent: string[] }> {
  const deleted: string[] = [];
  const absent: string[] = [];
  for (const name of created) {
    if (await deleteSystemFile(client, name, location)) deleted.push(name);
    else absent.push(name);
  }
  return { deleted, absent };
}
