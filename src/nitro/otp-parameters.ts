// `aaaotpparameter` (a singleton): whether Native OTP secrets are stored encrypted. Turning
// encryption on with no userDataEncryptionKey bound breaks registration, so setOtpEncryption
// refuses that case unless the caller says it checked.
import { AdcError } from '../errors.js';
import type { NitroClient } from './client.js';
import { NitroOutcomeUnknownError } from './errors.js';
import { listUserDataEncryptionKeys } from './otp-binding.js';
import { NitroReplyShapeError, oneOf, optionalNumber } from './reply-shape.js';
import { awaitChange } from './settle.js';

export interface OtpParameters {
  encryption: 'ON' | 'OFF';
  maxotpdevices: number;
}

export async function getOtpParameters(client: NitroClient): Promise<OtpParameters> {
  const list = (await client.getList<Record<string, unknown>>('aaaotpparameter')) ?? [];
  if (list.length > 1) throw new NitroReplyShapeError(client.appliance, 'aaaotpparameter', 'a singleton answered with several rows', list);
  const rec = list[0] ?? {};
  // Absent fields are the documented defaults (OFF, 4); a value that is neither is refused, as
  // "encryption" decides whether turning it ON is a change at all.
  const enc = oneOf(client.appliance, 'aaaotpparameter', rec, 'encryption', ['ON', 'OFF'], false);
  return {
    encryption: enc?.toUpperCase() === 'ON' ? 'ON' : 'OFF',
    maxotpdevices: optionalNumber(client.appliance, 'aaaotpparameter', rec, 'maxotpdevices') ?? 4,
  };
}

/** Set encryption, then read it back. Returns whether anything changed. */
export async function setOtpEncryption(client: NitroClient, value: 'ON' | 'OFF'): Promise<{ changed: boolean; before: OtpParameters }> {
  const before = await getOtpParameters(client);
  if (before.encryption === value) return { changed: false, before };
  if (value === 'ON' && (await listUserDataEncryptionKeys(client)).length === 0) {
    throw new AdcError(`${client.appliance}: refusing to turn OTP encryption ON with no userDataEncryptionKey bound (new registrations would fail)`);
  }
  try {
    await client.request({ method: 'PUT', resource: 'aaaotpparameter', body: { aaaotpparameter: { encryption: value } } });
  } catch (err) {
    if (!(err instanceof NitroOutcomeUnknownError)) throw err;
    await awaitChange(
      err,
      `encryption ${value}`,
      () => getOtpParameters(client),
      (p) => p.encryption === value,
    );
    return { changed: true, before };
  }
  const after = await getOtpParameters(client);
  if (after.encryption !== value) {
    throw new AdcError(`${client.appliance}: aaaotpparameter encryption reads ${after.encryption} after setting ${value}`);
  }
  return { changed: true, before };
}
