// The attribute's base64 is the URL-safe alphabet; writers keep '=' padding, readers accept
// both. Buffer.from(…, 'base64') silently skips junk, so every read validates first.
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const BASE32 = /^[A-Z2-7]+=*$/;

export function toB64Url(buf: Buffer): string {
  // Node's base64url drops the padding; writers keep it.
  const rest = buf.length % 3;
  return buf.toString('base64url') + (rest === 1 ? '==' : rest === 2 ? '=' : '');
}

/** Decodes URL-safe base64 (padded or not); returns undefined when the text is not base64. */
export function fromB64Url(text: string): Buffer | undefined {
  if (!B64URL.test(text)) return undefined;
  let bare = text.length;
  while (bare > 0 && text.charCodeAt(bare - 1) === 0x3d) bare--;
  if (bare % 4 === 1) return undefined;
  // Validated above: Node's decoder takes either alphabet, padded or not.
  return Buffer.from(text, 'base64');
}

/** An RFC 4648 Base32 secret as the ADC writes it: upper case, optionally padded. */
export function isBase32Secret(text: unknown): text is string {
  return typeof text === 'string' && text.length >= 16 && BASE32.test(text);
}
