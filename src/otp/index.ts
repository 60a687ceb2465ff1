// The OTP attribute codec, its crypto and key material. Depends on nothing of ours but errors.
export { parseAttribute, formatAttribute, parseDeviceValue, formatDeviceValue, MAX_VALUE_LENGTH } from './codec.js';
export type { OtpAttribute, LegacyAttribute, EncryptedAttribute, LegacyDevice, EncryptedDevice } from './codec.js';
export { kidOf, deriveKey, encryptBytes, decryptBytes, decryptMany } from './crypto.js';
export { toB64Url, fromB64Url, isBase32Secret } from './encoding.js';
export { KeyPassphraseError, OtpFormatError, OtpDecryptError } from './errors.js';
export { Keyring, decryptDevice, decryptDevices, decryptWithKeyring, encryptPlaintext } from './devices.js';
export type { PlainDevice, DecryptedDevice } from './devices.js';
export { loadKeyMaterial, keyMaterialFromPem, certificateInfo } from './key-material.js';
export type { OtpKeyMaterial, OtpCertificateInfo, LoadOptions } from './key-material.js';
export { loadKeyFrom } from './key-source.js';
export type { KeyArgs, KeySourceIo } from './key-source.js';
export { readSecrets, kidsOf, encryptValue, legacyValue, addDevice, rekeyValue, rekeyValues, decryptValue, verifySecrets, verifyValues } from './values.js';
export type { ReadResult, DeviceAction, DeviceOutcome, TransformResult, RekeyOptions, Settled } from './values.js';
export { totpCode, totpVerify, secondsLeftInStep } from './totp.js';
export type { TotpOptions } from './totp.js';
