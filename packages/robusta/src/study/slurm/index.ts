// robusta/study/slurm: a study as a Slurm job array of study workers sharing one store.
export { sbatchScript, shellQuote, resourcesFromSpec, type SlurmResources, type SbatchScriptOptions } from './script.js';
export {
  expandTaskIds, parseJobStateLines, parseScontrolJobs, mergeStates, slurmTaskOf, slurmWorkerSuffix, isLiveState, summariseTasks,
  type SlurmState, type TaskStates,
} from './states.js';
export { sbatch, scancel, taskStates, hasSlurm, SlurmError } from './client.js';
export { runSlurmTask, taskWorkerId, type SlurmTaskOptions } from './task.js';
export {
  submitStudy, slurmStatus, cancelStudy, resubmitFailed, reclaimDeadTasks, deadWorkerTest, SLURM,
  type SlurmSubmission, type SubmitResult, type SlurmJobStatus, type SlurmStudyStatus, type ResubmitResult,
} from './executor.js';
