// Runs a study on this machine: the plan is synced into the store, then a pool of worker processes
// (threads × workers ≤ cores) claims and executes the runs. Killing the command (even kill -9) loses
// nothing: its workers exit when they notice, and the next run of the command reclaims their runs,
// which resume from their last completed epoch.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { StudyPlan } from './plan.js';
import type { StatusCounts, StudyStore, SyncResult } from './store/types.js';
import { isDeadLocalWorker } from './worker.js';

export interface LocalRunOptions {
  store: StudyStore;
  plan: StudyPlan;
  runsDir: string;
  /** Worker processes (default: the spec's, else cores / threads). */
  workers?: number;
  /** Threads per worker (default: the spec's, else 1; results are bit-identical only for one thread count). */
  threads?: number;
  leaseMs?: number;
  /** Called about once a second and at every change. */
  onProgress?: (p: StudyProgress) => void;
  /** Worker log lines (default: dropped). */
  onLog?: (line: string) => void;
}

export interface StudyProgress {
  counts: StatusCounts;
  workers: number;
  elapsedSeconds: number;
  /** Seconds per finished run measured so far (null before the first). */
  secondsPerRun: number | null;
  /** Estimated seconds left (null when unknown). */
  etaSeconds: number | null;
}

export interface LocalRunSummary {
  sync: SyncResult;
  reclaimed: number;
  counts: StatusCounts;
  seconds: number;
}

export function defaultParallelism(plan: StudyPlan, o: { workers?: number; threads?: number }): { workers: number; threads: number } {
  const cores = availableParallelism();
  const threads = o.threads ?? plan.execution.threads ?? (o.workers ? Math.max(1, Math.floor(cores / o.workers)) : 1);
  const workers = o.workers ?? plan.execution.workers ?? Math.max(1, Math.floor(cores / threads));
  return { workers, threads };
}

export async function runStudyLocal(o: LocalRunOptions): Promise<LocalRunSummary> {
  const { store, plan } = o;
  const started = performance.now();
  const sync = await store.syncStudy(plan);
  const reclaimed = await store.reclaim(plan.name, isDeadLocalWorker);
  const { workers, threads } = defaultParallelism(plan, o);
  const script = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  const children = new Set<ChildProcess>();
  const initialDone = (await store.counts(plan.name)).done;
  let stopping = false;

  const spawnWorker = (): void => {
    const child = fork(script, [store.location, plan.name, o.runsDir, String(o.leaseMs ?? 600_000)], {
      env: { ...process.env, ROBUSTA_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') o.onLog?.(line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    children.add(child);
    child.on('exit', () => children.delete(child));
  };

  const onSignal = () => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let counts = await store.counts(plan.name);
    for (let i = 0; i < Math.min(workers, counts.pending); i++) spawnWorker();
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      // Runs of workers that died (crash, OOM kill) become claimable again; replace the worker.
      await store.reclaim(plan.name, isDeadLocalWorker);
      counts = await store.counts(plan.name);
      const elapsed = (performance.now() - started) / 1000;
      const finishedHere = counts.done - initialDone;
      const secondsPerRun = finishedHere > 0 ? (elapsed * Math.min(workers, Math.max(1, children.size))) / finishedHere : null;
      const left = counts.pending + counts.running;
      o.onProgress?.({
        counts, workers: children.size, elapsedSeconds: elapsed, secondsPerRun,
        etaSeconds: secondsPerRun === null ? null : (secondsPerRun * left) / Math.max(1, Math.min(workers, left)),
      });
      if (stopping) break;
      while (!stopping && children.size < Math.min(workers, counts.pending)) spawnWorker();
      if (children.size === 0 && counts.pending === 0) break;
    }
    return { sync, reclaimed, counts, seconds: (performance.now() - started) / 1000 };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const c of children) c.kill('SIGTERM');
  }
}
