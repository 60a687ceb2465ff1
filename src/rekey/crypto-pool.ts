// Optional worker threads for the engine's crypto: a group's decide + re-encrypt + pre-write
// check (plan-check.ts) runs in a pool thread while the engine's thread keeps the LDAP traffic
// and the backup going. Everything that guards the directory stays in the engine's thread and
// in the same order: backup before write, only checked values written, read-back compared byte
// for byte. It pays only where a core is free for it; the benchmark says where (README,
// Performance). A pool thread that fails leaves that group to the engine's own thread.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RekeyJob, PreparedJob } from './job.js';
import { planAndCheck, type Planned, type PlanRequest } from './plan-check.js';

type Reply = { id: number; error: string } | ({ id: number } & Planned);

/**
 * The compiled worker. Run from TypeScript sources (the tests), this module's sibling is a .ts
 * file Node cannot start as a thread, so the build's copy is used: `npm run build` first.
 */
function workerScript(): URL {
  const here = new URL('./crypto-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/src/rekey/crypto-worker.js', import.meta.url);
}

export class CryptoPool {
  private readonly workers: { w: Worker; busy: number }[] = [];
  private readonly waiting = new Map<number, { resolve: (p: Planned) => void; values: string[][]; worker: number }>();
  private nextId = 0;
  /** Groups a pool thread computed (the rest fell back to the engine's thread). */
  threaded = 0;

  constructor(
    size: number,
    job: RekeyJob,
    private readonly local: PreparedJob,
  ) {
    const script = workerScript();
    for (let i = 0; i < size; i++) {
      const w = new Worker(script, { workerData: { job } });
      // The pool must never keep the process alive on its own, nor crash it.
      w.unref();
      w.on('message', (r: Reply) => this.settle(i, r));
      w.on('error', () => this.failWorker(i));
      w.on('exit', () => this.failWorker(i));
      this.workers.push({ w, busy: 0 });
    }
  }

  /** planAndCheck for a group, in the least busy thread. */
  plan(values: string[][]): Promise<Planned> {
    const live = this.workers.map((x, i) => ({ ...x, i })).filter((x) => x.busy >= 0);
    if (live.length === 0) return Promise.resolve(planAndCheck(this.local, values));
    const pick = live.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    pick.busy++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, values, worker: pick.i });
      pick.w.postMessage({ id, values } satisfies PlanRequest);
    });
  }

  private settle(worker: number, r: Reply): void {
    const p = this.waiting.get(r.id);
    if (!p) return;
    this.waiting.delete(r.id);
    if (this.workers[worker].busy > 0) this.workers[worker].busy--;
    if ('error' in r) {
      p.resolve(planAndCheck(this.local, p.values));
      return;
    }
    this.threaded++;
    p.resolve({ plans: r.plans, bad: r.bad });
  }

  /** A thread that died: its groups are computed here instead, and it gets no more. */
  private failWorker(worker: number): void {
    this.workers[worker].busy = -1;
    for (const [id, p] of this.waiting) {
      if (p.worker !== worker) continue;
      this.waiting.delete(id);
      p.resolve(planAndCheck(this.local, p.values));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ w }) => w.terminate()));
  }
}
