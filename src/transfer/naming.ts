// Unique, sortable, NetScaler-safe file names: `otp-new-20261123T101500Z.pem`.
import { validateFileName, MAX_FILE_NAME } from '../nitro/systemfile.js';

export function timestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** `<prefix>-<UTC timestamp>[-n].<ext>`, within NetScaler's 63-character limit. */
export function uniqueFileName(prefix: string, ext: string, when: Date, attempt = 1): string {
  const suffix = `-${timestamp(when)}${attempt > 1 ? `-${attempt}` : ''}.${ext.replace(/^\./, '')}`;
  const room = MAX_FILE_NAME - suffix.length;
  const safePrefix = prefix.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, Math.max(1, room));
  const name = `${safePrefix}${suffix}`;
  validateFileName(name);
  return name;
}
