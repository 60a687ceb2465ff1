// NITRO login sessions: a random token in the NITRO_AUTH_TOKEN cookie, an idle timeout, and a
// distinct answer for a token that expired (444) and one the node never issued or logged out (1027).
import { randomBytes } from 'node:crypto';
import { NitroFault } from './nitro-errors.js';

interface Session {
  user: string;
  timeoutMs: number;
  lastUsed: number;
  state: 'active' | 'expired' | 'closed';
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  constructor(private readonly defaultTimeoutSec: number) {}

  open(user: string, timeoutSec?: number): string {
    const token = `##${randomBytes(24).toString('hex').toUpperCase()}`;
    const secs = timeoutSec && timeoutSec > 0 ? timeoutSec : this.defaultTimeoutSec;
    this.sessions.set(token, { user, timeoutMs: secs * 1000, lastUsed: Date.now(), state: 'active' });
    return token;
  }

  /** Returns the user of a live session and refreshes its idle timer; throws 444/1027 otherwise. */
  use(token: string): string {
    const s = this.sessions.get(token);
    if (!s || s.state === 'closed') throw new NitroFault(1027);
    const now = Date.now();
    if (s.state === 'expired' || now - s.lastUsed > s.timeoutMs) {
      s.state = 'expired';
      throw new NitroFault(444);
    }
    s.lastUsed = now;
    return s.user;
  }

  close(token: string): void {
    const s = this.sessions.get(token);
    if (s) s.state = 'closed';
  }
}
