// robusta/study: a spec → a grid of runs → training and measures on a pool of workers → a store →
// correlations with the robust generalization gap → a report.
export { parseStudySpec, readStudySpec, StudySpecError, TRAINING_AXES, CHECKPOINTS, type StudySpec, type TrainingField, type CheckpointName, type SlurmSection } from './spec.js';
export { planStudy, hashOf, canonicalJson, specDirOf, REQUIRED_MEASURES, type StudyPlan, type PlannedRun } from './plan.js';
export {
  type StudyStore, type StoredRun, type StoredMeasurement, type StoredArtifact, type StoredEpoch, type RunStatus,
  type StatusCounts, type SyncResult, type StoredJob, StoreError,
} from './store/types.js';
export { SqliteStore } from './store/sqlite.js';
export { PostgresStore, isPostgresUrl, redactUrl } from './store/postgres.js';
export { openStore } from './store/open.js';
export { executeRun, LeaseLostError, DatasetCache, sha256File } from './execute-run.js';
export { runWorker, workerId, isDeadLocalWorker, type WorkerOptions, type WorkerSummary } from './worker.js';
export { runStudyLocal, defaultParallelism, type LocalRunOptions, type LocalRunSummary, type StudyProgress } from './local-pool.js';
export { analyseStudy, describePlan, type AnalysisOptions } from './analysis.js';
export * as slurm from './slurm/index.js';
