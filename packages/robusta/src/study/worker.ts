// A study worker: claims runs from the store one at a time and executes them until none is left to
// claim. Several workers (processes on one machine, or Slurm tasks on many) share one store; the
// claim is atomic, so no run is trained by two workers at once.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DatasetCache, executeRun, LeaseLostError } from './execute-run.js';
import type { StudyStore } from './store/types.js';

export interface WorkerOptions {
  store: StudyStore;
  study: string;
  runsDir: string;
  /**
   * Lease length; the worker renews it every quarter of it while it works (between training batches
   * and between measures, so one measure must take less than the lease). Default 600 s.
   */
  leaseMs?: number;
  /** Worker id (default host:pid). */
  worker?: string;
  /** Stop after this many runs (default: no limit). */
  maxRuns?: number;
  /** Called at every training batch and before every measure (e.g. to exit when the parent process died). */
  onBatch?: () => void;
  log?: (line: string) => void;
}

export interface WorkerSummary {
  done: string[];
  failed: string[];
  lost: string[];
}

const HAS_PROC = existsSync('/proc/self/stat');

export const workerId = (): string => `${hostname()}:${process.pid}`;

/**
 * Whether a worker id of this host names a process that no longer runs: gone, or a zombie (exited but
 * not yet reaped by whoever inherited it — it still answers signal 0, so /proc is read first on Linux).
 */
export function isDeadLocalWorker(worker: string): boolean {
  const [host, pidText] = worker.split(':');
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  if (HAS_PROC) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state === 'Z' || state === 'X';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export async function runWorker(o: WorkerOptions): Promise<WorkerSummary> {
  const plan = await o.store.getPlan(o.study);
  if (!plan) throw new Error(`the store ${o.store.location} has no study '${o.study}'`);
  const worker = o.worker ?? workerId();
  const leaseMs = o.leaseMs ?? 600_000;
  const log = o.log ?? (() => {});
  const datasets = new DatasetCache();
  const summary: WorkerSummary = { done: [], failed: [], lost: [] };
  try {
    for (let n = 0; o.maxRuns === undefined || n < o.maxRuns; n++) {
      const run = await o.store.claimRun(o.study, worker, leaseMs);
      if (!run) break;
      const t0 = performance.now();
      log(`run ${run.id} (${Object.entries(run.settings).map(([k, v]) => `${k}=${v}`).join(', ')}): started, attempt ${run.attempts}`);
      try {
        await executeRun(run, { store: o.store, plan, runsDir: o.runsDir, worker, leaseMs, onBatch: o.onBatch, datasets });
        summary.done.push(run.id);
        log(`run ${run.id}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (e) {
        if (e instanceof LeaseLostError) {
          summary.lost.push(run.id);
          log(`run ${run.id}: ${e.message}`);
          continue;
        }
        const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        await o.store.failRun(o.study, run.id, worker, message);
        summary.failed.push(run.id);
        log(`run ${run.id}: failed: ${message}`);
      }
    }
  } finally {
    datasets.dispose();
  }
  return summary;
}
