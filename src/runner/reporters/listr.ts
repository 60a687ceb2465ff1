// The task list an operator watches on a terminal: one listr2 task per step, the targets and
// the directory progress shown under it as they happen.
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { Reporter, RunEvent } from '../events.js';
import { redact } from '../redact.js';
import { describe } from './plain.js';

interface Current {
  lines: string[];
  progress?: string;
  settle: (err?: Error) => void;
  task?: ListrTaskWrapper<unknown, never, never>;
  run: Promise<void>;
}

export class ListrReporter implements Reporter {
  private current: Current | undefined;
  private chain: Promise<void> = Promise.resolve();

  event(ev: RunEvent): void {
    switch (ev.type) {
      case 'step-start':
        return this.start(ev.title);
      case 'target':
      case 'note':
        this.current?.lines.push(describe(ev)!.trim());
        return this.refresh();
      case 'progress':
        if (this.current) this.current.progress = describe(ev)!.trim();
        return this.refresh();
      case 'step-end': {
        const c = this.current;
        this.current = undefined;
        c?.settle(ev.status === 'failed' ? new Error(redact(ev.error ?? 'failed')) : undefined);
        return;
      }
      default: {
        const line = describe(ev);
        // Everything outside a step (run start/end, rollback) prints as a plain line after the list.
        if (line && ev.type !== 'run') this.chain = this.chain.then(() => void process.stderr.write(`${redact(line)}\n`));
      }
    }
  }

  private start(title: string): void {
    let settle!: (err?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    const cur: Current = { lines: [], settle, run: Promise.resolve() };
    const list = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            cur.task = task as unknown as ListrTaskWrapper<unknown, never, never>;
            this.refresh();
            await finished;
          },
        },
      ],
      { exitOnError: false, rendererOptions: { collapseErrors: false, persistentOutput: true } as never },
    );
    cur.run = this.chain
      .then(() => list.run())
      .then(
        () => undefined,
        () => undefined,
      );
    this.chain = cur.run;
    this.current = cur;
  }

  private refresh(): void {
    const c = this.current;
    if (c?.task) c.task.output = redact([...c.lines, ...(c.progress ? [c.progress] : [])].join('\n'));
  }

  async close(): Promise<void> {
    this.current?.settle();
    await this.chain;
  }
}
