// The worker of one Slurm array task. It claims runs like any worker; when none is claimable it does
// not leave while another worker's run looks abandoned. A live holder renews its lease every quarter
// of it, so a lease that did not move while this task watched for half a lease belongs to a dead
// worker (a cancelled or killed task): the task waits for that lease to expire and takes the run over
// (it resumes from its last epoch). Leases that move belong to live workers: the task exits, freeing
// its allocation. Watching whether a lease moves, rather than comparing it with this node's clock,
// keeps the decision right when the nodes' clocks disagree.
import { hostname } from 'node:os';
import { runWorker, type WorkerOptions, type WorkerSummary } from '../worker.js';
import { slurmWorkerSuffix } from './states.js';

export interface SlurmTaskOptions extends WorkerOptions {
  /** How long to watch a lease before calling its holder dead (default half the lease). */
  watchMs?: number;
}

/** host:pid, with :slurm=<job>_<task> inside a Slurm task. */
export const taskWorkerId = (): string => `${hostname()}:${process.pid}${slurmWorkerSuffix() ?? ''}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSlurmTask(o: SlurmTaskOptions): Promise<WorkerSummary & { waits: number }> {
  const worker = o.worker ?? taskWorkerId();
  const leaseMs = o.leaseMs ?? 600_000;
  const watchMs = o.watchMs ?? leaseMs / 2;
  const log = o.log ?? (() => {});
  const total: WorkerSummary & { waits: number } = { done: [], failed: [], lost: [], waits: 0 };
  let claimsLeft = o.maxRuns;
  for (;;) {
    const s = await runWorker({ ...o, worker, leaseMs, maxRuns: claimsLeft });
    total.done.push(...s.done);
    total.failed.push(...s.failed);
    total.lost.push(...s.lost);
    if (claimsLeft !== undefined) {
      claimsLeft -= s.done.length + s.failed.length + s.lost.length;
      if (claimsLeft <= 0) break;
    }
    const held = async () => new Map((await o.store.runs(o.study)).filter((r) => r.status === 'running' && r.worker !== worker)
      .map((r) => [r.id, `${r.worker}@${r.leaseUntil}`]));
    const before = await held();
    if (before.size === 0) break;
    await sleep(watchMs);
    const after = await held();
    const stale = [...before].filter(([id, lease]) => after.get(id) === lease).map(([id]) => id);
    const claimable = (await o.store.counts(o.study)).pending > 0;
    if (stale.length === 0 && !claimable) break;
    total.waits++;
    if (stale.length > 0) log(`run(s) ${stale.join(', ')}: lease not renewed for ${(watchMs / 1000).toFixed(0)} s, waiting to take over`);
  }
  return total;
}
