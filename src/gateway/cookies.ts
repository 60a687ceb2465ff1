// A cookie jar for one gateway conversation. The client only ever talks to one virtual server,
// so domain and path scoping do not matter; expiry does, because the gateway clears its
// session cookies on log-off and failure by expiring them.

export class CookieJar {
  private readonly values = new Map<string, string>();

  /** Takes the Set-Cookie headers of one response. */
  store(setCookie: string | string[] | undefined, now = Date.now()): void {
    const headers = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const header of headers) {
      const [pair = '', ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || isExpired(attrs, now)) this.values.delete(name);
      else this.values.set(name, value);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  /** The Cookie request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.values.size === 0) return undefined;
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function isExpired(attrs: string[], now: number): boolean {
  for (const attr of attrs) {
    const eq = attr.indexOf('=');
    const key = (eq < 0 ? attr : attr.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : attr.slice(eq + 1).trim();
    if (key === 'max-age' && /^-?\d+$/.test(val) && Number(val) <= 0) return true;
    if (key === 'expires') {
      const t = Date.parse(val);
      if (!Number.isNaN(t) && t <= now) return true;
    }
  }
  return false;
}
