// The script every prefetch worker thread runs: it imports the dataset's task module (which must
// not load @robusta/torch — the addon is single-threaded) and answers task messages with results,
// moving ArrayBuffers instead of copying them.
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerTaskResult } from './dataset.js';

interface TaskModule {
  runTask(task: unknown): WorkerTaskResult | Promise<WorkerTaskResult>;
}

const port = parentPort;
if (port === null) throw new Error('worker-host.js runs inside a worker thread only');
const mod = (await import((workerData as { module: string }).module)) as TaskModule;
if (typeof mod.runTask !== 'function') throw new Error(`${(workerData as { module: string }).module} does not export runTask`);

port.on('message', (msg: { id: number; task: unknown }) => {
  void (async () => {
    try {
      const { result, transfer } = await mod.runTask(msg.task);
      port.postMessage({ id: msg.id, result }, [...new Set(transfer ?? [])]);
    } catch (err) {
      port.postMessage({ id: msg.id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  })();
});
