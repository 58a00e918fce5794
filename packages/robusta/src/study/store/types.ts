// The study store: every run of a study with its resolved config and content hash, its status and
// lease (which worker holds it, until when), per-epoch metrics, per-checkpoint measures with seconds,
// and artifact paths with sha256. The API is asynchronous so that a networked database (PostgreSQL)
// can implement it as well as the embedded SQLite default.
import type { PlannedRun, StudyPlan } from '../plan.js';

export type RunStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StoredRun extends PlannedRun {
  status: RunStatus;
  /** 'train', 'measure:<checkpoint>' while running; null otherwise. */
  stage: string | null;
  worker: string | null;
  /** Epoch milliseconds. */
  leaseUntil: number | null;
  attempts: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  trainSeconds: number | null;
  measureSeconds: number | null;
  /** False when the spec no longer lists the run (kept, not shown). */
  active: boolean;
}

export interface StoredMeasurement {
  runId: string;
  checkpoint: string;
  measure: string;
  /** NaN when it could not be computed (see error). */
  value: number;
  seconds: number;
  error: string | null;
  perExample: number[] | null;
}

export interface StoredArtifact {
  runId: string;
  kind: string;
  path: string;
  sha256: string;
  bytes: number;
}

export interface StoredEpoch {
  runId: string;
  epoch: number;
  metrics: Record<string, unknown>;
}

/** A batch job an executor submitted for the study (a Slurm job array), so that status and cancel find it. */
export interface StoredJob {
  executor: string;
  jobId: string;
  tasks: number;
  submittedAt: string;
  /** What the executor needs to resubmit (resources, folders, store location; never a password). */
  info: Record<string, unknown>;
}

export interface SyncResult {
  added: number;
  kept: number;
  retired: number;
}

export interface StatusCounts {
  pending: number;
  running: number;
  done: number;
  failed: number;
  total: number;
}

export interface StudyStore {
  /** Where the store lives (a path, or a URL without its password). */
  readonly location: string;
  /** Records the plan: new runs are added, existing ones kept (with their results), missing ones retired. */
  syncStudy(plan: StudyPlan): Promise<SyncResult>;
  /** The plan of a study, as last synced (null when the store has no such study). */
  getPlan(study: string): Promise<StudyPlan | null>;
  /** Study names in the store. */
  studies(): Promise<string[]>;
  /**
   * Atomically takes the first run (in plan order) that is pending or whose lease expired, marks it
   * running under `worker` with a lease of leaseMs, and returns it; null when none is claimable.
   */
  claimRun(study: string, worker: string, leaseMs: number): Promise<StoredRun | null>;
  /** Extends the lease; false when the run is no longer held by this worker (it must stop). */
  renewLease(study: string, runId: string, worker: string, leaseMs: number, stage?: string): Promise<boolean>;
  /** Makes runs held by dead workers claimable again (isDead decides per worker id). */
  reclaim(study: string, isDead: (worker: string) => boolean): Promise<number>;
  recordEpoch(study: string, runId: string, epoch: number, metrics: Record<string, unknown>): Promise<void>;
  /** Training finished: artifacts and seconds, in one transaction. */
  recordTrained(study: string, runId: string, artifacts: Omit<StoredArtifact, 'runId'>[], seconds: number): Promise<void>;
  /** One checkpoint's measures, in one transaction (replacing any earlier values of that checkpoint). */
  recordMeasurements(study: string, runId: string, checkpoint: string, values: Omit<StoredMeasurement, 'runId' | 'checkpoint'>[]): Promise<void>;
  /** Checkpoints of a run whose measures are recorded. */
  measuredCheckpoints(study: string, runId: string): Promise<string[]>;
  finishRun(study: string, runId: string, worker: string): Promise<void>;
  failRun(study: string, runId: string, worker: string, error: string): Promise<void>;
  /** Gives a held run back (pending) without counting it as failed. */
  releaseRun(study: string, runId: string, worker: string): Promise<void>;
  /** Failed runs back to pending; returns how many. */
  retryFailed(study: string): Promise<number>;
  counts(study: string): Promise<StatusCounts>;
  runs(study: string, o?: { includeRetired?: boolean }): Promise<StoredRun[]>;
  measurements(study: string): Promise<StoredMeasurement[]>;
  epochs(study: string, runId?: string): Promise<StoredEpoch[]>;
  artifacts(study: string, runId?: string): Promise<StoredArtifact[]>;
  recordJob(study: string, job: Omit<StoredJob, 'submittedAt'>): Promise<void>;
  /** Jobs of a study, oldest first. */
  jobs(study: string, executor?: string): Promise<StoredJob[]>;
  close(): Promise<void>;
}

/** A store that cannot be opened or used (corrupt file, newer schema, bad URL). */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}
