// robusta/train: the adversarial training loop with exact resume.
export { Trainer, type TrainerOptions, type TrainSummary } from './trainer.js';
export {
  type CheckpointableModel, type OptimizerLike, type OptimizerState, type ScheduleLike, type BatchSource, type TrainBatch,
} from './types.js';
export {
  saveTrainingCheckpoint, loadTrainingCheckpoint, disposeCheckpoint, TrainingCheckpointError, type TrainingCheckpoint,
} from './checkpoint.js';
export { MetricsLog, type EpochMetrics } from './metrics-log.js';
export { ProgressReporter, type ProgressMode, type ProgressStream, type ProgressState } from './progress.js';
export {
  DATASETS, DEFENSES, SCHEDULES, type DatasetName, type DefenseName, type DefenseSettings, isDatasetName, checkDatasetName,
  loadSplit, normalizationOf, recipeOf, makeDefense, makeSchedule,
} from './catalog.js';
export { type TrainJob, type TrainJobHooks, type TrainJobResult, runTrainJob, createJobModel } from './job.js';
