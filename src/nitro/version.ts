// `nsversion`: the firmware an appliance runs, for the plan and the report. No decision reads it
// (the binding behaviour is found out by the bind itself, see otp-binding.ts), so a reply we cannot
// read leaves the version unknown and says so; it never stops a run.
import type { NitroClient } from './client.js';
import { NITRO_CODE, NitroError } from './errors.js';
import { NitroReplyShapeError, describeShape } from './reply-shape.js';

export interface FirmwareVersion {
  /** The appliance's own text, e.g. "NetScaler NS14.1: Build 25.56.nc, Date: …". */
  text: string;
  /** "14.1" when the text names a release. */
  release: string | undefined;
  /** "25.56" when the text names a build. */
  build: string | undefined;
}

export function parseFirmwareVersion(text: string): FirmwareVersion {
  const release = /NS\s*(\d+\.\d+)/i.exec(text)?.[1];
  const build = /Build\s+(\d+(?:\.\d+)?)/i.exec(text)?.[1];
  return { text: text.trim(), release, build };
}

/** "14.1-25.56", or the appliance's text when it does not name both. */
export function shortVersion(v: FirmwareVersion): string {
  return v.release && v.build ? `${v.release}-${v.build}` : v.text;
}

export type FirmwareVersionRead = { ok: true; version: FirmwareVersion } | { ok: false; why: string };

export async function readFirmwareVersion(client: NitroClient): Promise<FirmwareVersionRead> {
  let rows: Record<string, unknown>[] | undefined;
  try {
    rows = await client.getList<Record<string, unknown>>('nsversion');
  } catch (err) {
    // Credentials, TLS and reachability failures belong to the reads that decide; here they
    // would only repeat what those say.
    if (err instanceof NitroReplyShapeError) return { ok: false, why: `GET nsversion: ${err.nitroMessage.split('. ')[0]}` };
    if (err instanceof NitroError && err.httpStatus !== undefined) return { ok: false, why: `GET nsversion answered ${err.errorcode ?? `HTTP ${err.httpStatus}`}` };
    throw err;
  }
  if (rows === undefined) return { ok: false, why: `GET nsversion answered ${NITRO_CODE.noSuchResource} (no such resource)` };
  const text = rows[0]?.version;
  if (typeof text !== 'string' || !text.trim()) return { ok: false, why: `GET nsversion carried ${describeShape(rows)}` };
  return { ok: true, version: parseFirmwareVersion(text) };
}
