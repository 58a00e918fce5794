// A small pool of worker threads running a dataset's task module (see WorkerDecodable): tasks go to
// the least busy worker; results come back as promises in whatever order they finish.
import { Worker } from 'node:worker_threads';

export class WorkerTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerTaskError';
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
  /** False once the thread has failed or exited: it gets no more tasks. */
  alive: boolean;
}

const HOST = new URL('./worker-host.js', import.meta.url);

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(module: URL, size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`WorkerPool size must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(HOST, { workerData: { module: module.href } });
      worker.unref(); // an abandoned iterator must not keep the process alive
      const slot: Slot = { worker, busy: 0, pending: new Map(), alive: true };
      worker.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        slot.busy--;
        if (msg.error !== undefined) p.reject(new WorkerTaskError(msg.error));
        else p.resolve(msg.result);
      });
      const failAll = (err: Error): void => {
        slot.alive = false;
        for (const p of slot.pending.values()) p.reject(err);
        slot.pending.clear();
        slot.busy = 0;
      };
      worker.on('error', (err) => failAll(new WorkerTaskError(`worker thread failed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) failAll(new WorkerTaskError(`worker thread exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Runs one task on the least busy worker. */
  run(task: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new WorkerTaskError('the worker pool is closed'));
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.alive && (slot === undefined || s.busy < slot.busy)) slot = s;
    if (slot === undefined) return Promise.reject(new WorkerTaskError('every worker thread of the pool has failed'));
    const id = this.nextId++;
    slot.busy++;
    const chosen = slot;
    return new Promise((resolve, reject) => {
      chosen.pending.set(id, { resolve, reject });
      chosen.worker.postMessage({ id, task });
    });
  }

  /** Stops the workers; tasks still running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(new WorkerTaskError('the worker pool was closed'));
      s.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
