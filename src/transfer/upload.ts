// Upload under a fresh name and prove the appliance holds exactly these bytes.
import { AdcError } from '../errors.js';
import { NitroOutcomeUnknownError } from '../nitro/errors.js';
import { awaitChange } from '../nitro/settle.js';
import { uniqueFileName } from './naming.js';
import { FileExistsError, TransferError, type FileTransport } from './transport.js';

export interface UploadUniqueInput {
  prefix: string;
  ext: string;
  bytes: Uint8Array;
  when?: Date;
  /** How many names to try before giving up. Default 20. */
  maxNames?: number;
}

export interface UploadedFile {
  name: string;
  bytes: number;
}

/**
 * Upload under `<prefix>-<timestamp>.<ext>`, moving to `-2`, `-3`… while a name is taken, then
 * read the file back and compare every byte. A reply that never came is settled by reading
 * (waiting for a slow appliance): our bytes under our fresh name mean the upload happened.
 */
export async function uploadUnique(transport: FileTransport, input: UploadUniqueInput): Promise<UploadedFile> {
  const when = input.when ?? new Date();
  const max = input.maxNames ?? 20;
  const want = Buffer.from(input.bytes);
  for (let attempt = 1; attempt <= max; attempt++) {
    const name = uniqueFileName(input.prefix, input.ext, when, attempt);
    if (await transport.exists(name)) continue;
    try {
      await transport.upload(name, want);
    } catch (err) {
      if (err instanceof FileExistsError) continue;
      if (!(err instanceof NitroOutcomeUnknownError)) throw err;
      // The appliance may still be writing it: wait for the file before deciding.
      const there = await awaitChange(
        err,
        `file ${name}`,
        () => transport.read(name),
        (b): b is Buffer => b !== undefined,
      );
      if (!there.equals(want)) {
        throw new TransferError(transport.description, name, 'after an unanswered upload the file holds other bytes; left untouched', { cause: err });
      }
      return { name, bytes: want.length };
    }
    await verifyUpload(transport, name, want);
    return { name, bytes: want.length };
  }
  throw new AdcError(`${transport.description}: no free file name for ${input.prefix}.*.${input.ext} after ${max} tries`);
}

/** Read back and compare; throws naming the file (never its content). */
export async function verifyUpload(transport: FileTransport, name: string, want: Uint8Array): Promise<void> {
  const there = await transport.read(name);
  if (there === undefined) throw new TransferError(transport.description, name, 'uploaded but not found when read back');
  if (!there.equals(Buffer.from(want))) {
    throw new TransferError(transport.description, name, `read back ${there.length} bytes that differ from the ${want.byteLength} uploaded`);
  }
}

/** Remove only the files the caller's journal says this run created. */
export async function removeCreated(transport: FileTransport, created: readonly string[]): Promise<{ removed: string[]; absent: string[] }> {
  const removed: string[] = [];
  const absent: string[] = [];
  for (const name of created) ((await transport.remove(name)) ? removed : absent).push(name);
  return { removed, absent };
}
