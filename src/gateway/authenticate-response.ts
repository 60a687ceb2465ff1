// Reads the nFactor AuthenticateResponse document. The schema is small and flat, so a few
// tolerant element reads do; anything that is not this document is reported, not guessed at.
import { ERROR_LABELS, FAILURE_CREDENTIAL } from './vocabulary.js';

export interface Requirement {
  /** The form field name the server wants the value under; absent on display-only rows. */
  id?: string;
  /** username, password, nsg-setclient, … (lower-cased). */
  type: string;
  label: string;
  labelType: string;
  /** Whether the input is masked: a password-type field. */
  secret: boolean;
  /** The row is a button (its value is the button text, never a credential). */
  button: boolean;
}

export interface AuthenticateResponse {
  result: string;
  stateContext?: string;
  postBack?: string;
  cancelPostBack?: string;
  requirements: Requirement[];
  /** Texts of labels of type error (any of the error types): why the previous post failed. */
  errors: string[];
  /** Whether errors[0] stands for an error label that carried no text (it then says less than a code). */
  firstErrorTextless: boolean;
}

export function isAuthenticateResponse(body: string): boolean {
  return /<AuthenticateResponse[\s>]/.test(body);
}

export function parseAuthenticateResponse(body: string): AuthenticateResponse {
  const requirements: Requirement[] = [];
  const errors: string[] = [];
  let firstErrorTextless = false;
  for (const block of elements(body, 'Requirement')) {
    const credential = first(block, 'Credential') ?? '';
    const label = first(block, 'Label') ?? '';
    const input = first(block, 'Input') ?? '';
    const labelText = text(first(label, 'Text'));
    const labelType = text(first(label, 'Type')).toLowerCase();
    const type = text(first(credential, 'Type')).toLowerCase();
    if ((ERROR_LABELS.has(labelType) || type === FAILURE_CREDENTIAL) && labelText) errors.push(labelText);
    // An error label is the failure even when it carries no text: left out, the round would read
    // as a form asking for the credentials again, and the check would end as unexpected-page
    // instead of naming the refused factor. (A textless nsg-auth-failure row is read by its type.)
    else if (ERROR_LABELS.has(labelType)) {
      if (errors.length === 0) firstErrorTextless = true;
      errors.push(`(${labelType} label without text)`);
    }
    const id = text(first(credential, 'ID'));
    requirements.push({
      ...(id ? { id } : {}),
      type,
      label: labelText,
      labelType,
      secret: /^true$/i.test(text(first(input, 'Secret'))),
      button: first(input, 'Button') !== undefined,
    });
  }
  const stateContext = first(body, 'StateContext');
  const postBack = first(body, 'PostBack');
  const cancel = first(body, 'CancelPostBack');
  return {
    result: text(first(body, 'Result')).toLowerCase(),
    ...(stateContext !== undefined ? { stateContext: text(stateContext) } : {}),
    ...(postBack ? { postBack: text(postBack) } : {}),
    ...(cancel ? { cancelPostBack: text(cancel) } : {}),
    requirements,
    errors,
    firstErrorTextless,
  };
}

function elements(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1] ?? '');
}

function first(xml: string, name: string): string | undefined {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}>)`);
  const m = re.exec(xml);
  return m ? (m[1] ?? '') : undefined;
}

function text(raw: string | undefined): string {
  if (!raw) return '';
  const cdata = /^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/.exec(raw);
  const plain = cdata ? (cdata[1] ?? '') : raw.replace(/<[^>]*>/g, '');
  return decodeEntities(plain).trim();
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const k = e.toLowerCase();
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[k] ?? '';
  });
}
