// Pacing and bounded hand-off between the scanner and the writers.

/** Spaces work out to `perSecond` items across every worker that shares it. */
export class RateLimiter {
  private next = 0;
  constructor(private readonly perSecond: number) {}
  async take(n: number): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.next);
    this.next = start + (n / this.perSecond) * 1000;
    if (start > now) await new Promise((r) => setTimeout(r, start - now));
  }
}

/** A bounded queue: the scanner waits when writers fall behind, so memory stays flat. */
export class Channel<T> {
  private readonly items: T[] = [];
  private readonly takers: ((v: T | undefined) => void)[] = [];
  private readonly pushers: (() => void)[] = [];
  private closed = false;
  constructor(private readonly capacity: number) {}

  /** False once the channel is closed (the consumer side stopped): stop producing. */
  async push(item: T): Promise<boolean> {
    while (!this.closed && this.items.length >= this.capacity) await new Promise<void>((r) => this.pushers.push(r));
    if (this.closed) return false;
    const taker = this.takers.shift();
    if (taker) taker(item);
    else this.items.push(item);
    return true;
  }

  /** Undefined when closed and drained. */
  async pop(): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.pushers.shift()?.();
      return item;
    }
    if (this.closed) return undefined;
    return new Promise((r) => this.takers.push(r));
  }

  close(): void {
    this.closed = true;
    for (const t of this.takers.splice(0)) t(undefined);
    for (const p of this.pushers.splice(0)) p();
  }

  /** Close and drop what was not taken yet (a stop: in-flight work finishes, queued work does not start). */
  drain(): void {
    this.items.length = 0;
    this.close();
  }
}
