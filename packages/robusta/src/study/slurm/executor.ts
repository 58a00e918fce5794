// The Slurm executor: a study's claimable runs become one job array whose tasks run study workers
// against a shared store (PostgreSQL across nodes). Every submission is recorded in the store's jobs
// table, so status, cancel and resubmit find the study's jobs from the store alone.
//
//   submit:    sync the plan; tasks = ⌈claimable runs / runs_per_task⌉; write <shared>/slurm/*.sbatch; sbatch
//   status:    the store's runs next to the state of every task of every recorded job
//   cancel:    scancel the jobs that still have live tasks; their runs become pending at once
//   resubmit:  failed runs back to pending, runs of dead tasks reclaimed, a new array for what is claimable
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StudyPlan } from '../plan.js';
import type { StoredJob, StoredRun, StudyStore, SyncResult } from '../store/types.js';
import { isDeadLocalWorker } from '../worker.js';
import { sbatch, scancel, taskStates } from './client.js';
import { sbatchScript, type SlurmResources } from './script.js';
import { isLiveState, slurmTaskOf, summariseTasks, type SlurmState, type TaskStates } from './states.js';

export const SLURM = 'slurm';

/** What a submission needs besides the plan; recorded with the job so that a resubmission can reuse it. */
export interface SlurmSubmission {
  resources: SlurmResources;
  /** A folder every node sees: <shared>/runs (checkpoints) and <shared>/slurm (scripts, task logs). */
  sharedDir: string;
  /** What the workers open: a postgres:// URL without password (PGPASSWORD or ~/.pgpass supply it) or a SQLite path. */
  storeLocation: string;
  /** The worker's program and its first arguments, e.g. [node, /…/robusta/main.js]. */
  workerCommand: string[];
  leaseSeconds: number;
  /** Threads per task (ROBUSTA_NUM_THREADS). */
  threads: number;
}

export interface SubmitResult {
  sync: SyncResult | null;
  /** Runs a task could claim now. */
  claimable: number;
  /** Null when nothing was claimable (no job submitted). */
  jobId: string | null;
  tasks: number;
  script: string | null;
}

const isClaimable = (r: StoredRun, now: number): boolean =>
  r.status === 'pending' || (r.status === 'running' && r.leaseUntil !== null && r.leaseUntil < now);

/** Writes and submits the job array for the study's claimable runs (syncing the plan first when given). */
export async function submitStudy(store: StudyStore, study: string, sub: SlurmSubmission, o: { plan?: StudyPlan; env?: NodeJS.ProcessEnv } = {}): Promise<SubmitResult> {
  const sync = o.plan ? await store.syncStudy(o.plan) : null;
  const now = Date.now();
  const claimable = (await store.runs(study)).filter((r) => isClaimable(r, now)).length;
  if (claimable === 0) return { sync, claimable, jobId: null, tasks: 0, script: null };
  const tasks = Math.ceil(claimable / (sub.resources.runsPerTask ?? 1));
  const shared = resolve(sub.sharedDir);
  const slurmDir = join(shared, 'slurm');
  mkdirSync(slurmDir, { recursive: true });
  mkdirSync(join(shared, 'runs'), { recursive: true });
  const jobName = `robusta-${study}`;
  const script = join(slurmDir, `${study}-${new Date(now).toISOString().replace(/[:.]/g, '-')}.sbatch`);
  writeFileSync(script, sbatchScript({
    jobName, resources: sub.resources, tasks, logDir: slurmDir, workDir: shared,
    env: { ROBUSTA_NUM_THREADS: String(sub.threads), OMP_NUM_THREADS: String(sub.threads) },
    command: [...sub.workerCommand, 'study', 'worker', sub.storeLocation, '--study', study, '--runs', join(shared, 'runs'),
      '--lease', String(sub.leaseSeconds), '--wait'],
  }), { mode: 0o644 });
  const jobId = sbatch(script, o.env);
  await store.recordJob(study, { executor: SLURM, jobId, tasks, info: { ...sub, script } });
  return { sync, claimable, jobId, tasks, script };
}

export interface SlurmJobStatus {
  jobId: string;
  tasks: number;
  submittedAt: string;
  /** Task index → state (UNKNOWN when Slurm no longer knows the task). */
  states: SlurmState[];
  /** Tasks by state. */
  summary: Record<SlurmState, number>;
  /** Tasks still pending or running. */
  live: number;
}

export interface SlurmStudyStatus {
  jobs: SlurmJobStatus[];
  /** Run id → the Slurm state of the task that holds it (running runs of Slurm workers). */
  holders: Record<string, SlurmState>;
}

function statusOf(job: StoredJob, states: TaskStates): SlurmJobStatus {
  const tasks = states.get(job.jobId);
  const list = Array.from({ length: job.tasks }, (_, t) => tasks?.get(t) ?? 'UNKNOWN');
  return { jobId: job.jobId, tasks: job.tasks, submittedAt: job.submittedAt, states: list, summary: summariseTasks(tasks, job.tasks), live: list.filter(isLiveState).length };
}

/** The study's Slurm jobs with every task's state, and the state of each running run's holder. */
export async function slurmStatus(store: StudyStore, study: string, env?: NodeJS.ProcessEnv): Promise<SlurmStudyStatus> {
  const jobs = await store.jobs(study, SLURM);
  const states = taskStates(jobs.map((j) => j.jobId), env);
  const holders: Record<string, SlurmState> = {};
  for (const r of await store.runs(study)) {
    const task = r.status === 'running' && r.worker ? slurmTaskOf(r.worker) : null;
    if (task) holders[r.id] = states.get(task.job)?.get(task.task) ?? 'UNKNOWN';
  }
  return { jobs: jobs.map((j) => statusOf(j, states)), holders };
}

/** Whether a run's holder is gone: its Slurm task is no longer live, or (local workers) its process ended. */
export function deadWorkerTest(states: TaskStates): (worker: string) => boolean {
  return (worker) => {
    const task = slurmTaskOf(worker);
    if (!task) return isDeadLocalWorker(worker);
    const state = states.get(task.job)?.get(task.task);
    return !isLiveState(state) || isDeadLocalWorker(worker);
  };
}

/** Makes the runs of dead Slurm tasks (and dead local workers) pending again. */
export async function reclaimDeadTasks(store: StudyStore, study: string, env?: NodeJS.ProcessEnv): Promise<number> {
  const jobIds = new Set((await store.jobs(study, SLURM)).map((j) => j.jobId));
  for (const r of await store.runs(study)) {
    const t = r.status === 'running' && r.worker ? slurmTaskOf(r.worker) : null;
    if (t) jobIds.add(t.job);
  }
  return store.reclaim(study, deadWorkerTest(taskStates([...jobIds], env)));
}

/** Cancels the study's jobs that still have live tasks; their runs become pending. */
export async function cancelStudy(store: StudyStore, study: string, env?: NodeJS.ProcessEnv): Promise<{ cancelled: string[]; released: number }> {
  const status = await slurmStatus(store, study, env);
  const cancelled = status.jobs.filter((j) => j.live > 0).map((j) => j.jobId);
  scancel(cancelled, env);
  const gone = new Set(cancelled);
  // scancel only signals: a task may still claim a run before it dies. Release runs once the
  // cancelled tasks are gone (at most a minute; later stragglers are left to lease expiry).
  for (const t0 = Date.now(); cancelled.length > 0 && Date.now() - t0 < 60_000;) {
    const now = await slurmStatus(store, study, env);
    if (now.jobs.every((j) => !gone.has(j.jobId) || j.live === 0)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const released = await store.reclaim(study, (w) => {
    const t = slurmTaskOf(w);
    return t !== null && gone.has(t.job);
  });
  return { cancelled, released };
}

export interface ResubmitResult extends SubmitResult {
  retried: number;
  reclaimed: number;
}

/**
 * Failed runs back to pending, runs held by dead tasks reclaimed, then a new job array for every
 * claimable run, with the settings of the study's last submission unless others are given.
 */
export async function resubmitFailed(store: StudyStore, study: string, o: { submission?: SlurmSubmission; env?: NodeJS.ProcessEnv } = {}): Promise<ResubmitResult> {
  const last = (await store.jobs(study, SLURM)).at(-1);
  const submission = o.submission ?? (last?.info as SlurmSubmission | undefined);
  if (!submission) throw new Error(`study '${study}' was never submitted to Slurm: give its spec (robusta study resubmit-failed SPEC)`);
  const retried = await store.retryFailed(study);
  const reclaimed = await reclaimDeadTasks(store, study, o.env);
  const submitted = await submitStudy(store, study, submission, { env: o.env });
  return { ...submitted, retried, reclaimed };
}
