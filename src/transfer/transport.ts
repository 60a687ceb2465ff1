// How certificate and key files reach an appliance's /nsconfig/ssl. Whatever the wire (NITRO
// systemfile or SFTP), the guarantees are the same: never overwrite, read back what was
// written, remove only what the caller names.
import { AdcError } from '../errors.js';

export interface FileTransport {
  /** Short description for plans and reports, e.g. "sftp nsroot@10.0.0.5:/nsconfig/ssl". */
  readonly description: string;
  /** Create `name` with these bytes; throws `FileExistsError` if it already exists. */
  upload(name: string, bytes: Uint8Array): Promise<void>;
  /** The file's bytes, or undefined when absent. */
  read(name: string): Promise<Buffer | undefined>;
  /** Remove; false when it was already absent. */
  remove(name: string): Promise<boolean>;
  exists(name: string): Promise<boolean>;
  /** Release connections. */
  close(): Promise<void>;
}

export class FileExistsError extends AdcError {
  constructor(
    readonly target: string,
    readonly fileName: string,
  ) {
    super(`${target}: ${fileName} already exists; uploads never overwrite`);
  }
}

export class TransferError extends AdcError {
  constructor(
    readonly target: string,
    readonly fileName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${target}: ${fileName}: ${message}`, undefined, options);
  }
}
