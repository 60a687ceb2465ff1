import { InputError } from '../errors.js';

/** A private key or PKCS#12 file that needs a passphrase: none was given, or the one given does not open it. */
export class KeyPassphraseError extends InputError {}

/** A value that is not a well-formed legacy or encrypted OTP attribute. */
export class OtpFormatError extends InputError {}

/**
 * A device that this certificate cannot decrypt: either its KID names another certificate,
 * or the plaintext is not device JSON (the format has no integrity tag, so this is the only check).
 */
export class OtpDecryptError extends InputError {
  constructor(
    message: string,
    readonly device: string,
    readonly valueKid: string,
    readonly certKid: string | undefined,
  ) {
    super(message);
  }
}
