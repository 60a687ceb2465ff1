// FileTransport over NITRO `systemfile` (base64 in JSON, ≤ 2 MB).
import type { NitroClient } from '../nitro/client.js';
import { NITRO_CODE, NitroError } from '../nitro/errors.js';
import { SSL_DIR, deleteSystemFile, readSystemFile, systemFileExists, uploadSystemFile } from '../nitro/systemfile.js';
import { FileExistsError, type FileTransport } from './transport.js';

export class NitroFileTransport implements FileTransport {
  readonly description: string;

  constructor(
    private readonly client: NitroClient,
    private readonly location: string = SSL_DIR,
  ) {
    this.description = `nitro ${client.appliance}:${location}`;
  }

  async upload(name: string, bytes: Uint8Array): Promise<void> {
    try {
      await uploadSystemFile(this.client, name, bytes, this.location);
    } catch (err) {
      if (err instanceof NitroError && err.hasCode(NITRO_CODE.fileExists)) throw new FileExistsError(this.description, name);
      throw err;
    }
  }

  read(name: string): Promise<Buffer | undefined> {
    return readSystemFile(this.client, name, this.location);
  }

  remove(name: string): Promise<boolean> {
    return deleteSystemFile(this.client, name, this.location);
  }

  exists(name: string): Promise<boolean> {
    return systemFileExists(this.client, name, this.location);
  }

  async close(): Promise<void> {
    // The client is shared with the other operations; its owner logs it out.
  }
}
