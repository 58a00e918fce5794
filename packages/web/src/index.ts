// @robusta/web: the dashboard behind `robusta serve` — an attack playground, the training runs and a
// study explorer, served locally with a start-up token.
export { startDashboard, type Dashboard, type DashboardOptions } from './server.js';
export { createApp, type AppContext } from './app.js';
export { ATTACKS, attackEntry, resolveParams, parseNumberText, type AttackEntry, type AttackParam, type PlaygroundMode } from './attack-catalog.js';
export { AttackJobs, BusyError, DEFAULT_JOB_LIMITS, type JobLimits, type JobEvent, type JobState } from './attack-jobs.js';
export type { AttackRequest, LossPoint, TopClass, WorkerMessage } from './attack-protocol.js';
export { checkUpload, headerDimensions, UploadError, UploadStore, DEFAULT_UPLOAD_LIMITS, type UploadLimits } from './upload.js';
export { resolveInside, isInside, hostAllowed, tokenMatches, makeToken, PathEscapeError, TOKEN_HEADER, CLIENT_HEADER } from './security.js';
export { RunIndex, findRunFolders, type RunSummary, type RunDetail, type CheckpointRef } from './runs.js';
export { StoreRegistry, findStores, type StoreInfo } from './stores.js';
export { StudyExplorer, filteredStore, type StudyFilters, type StudyListing, type StudyView } from './studies.js';
export { runCurveRows, lossCurveSpec, accuracyCurveSpec, attackLossRows, attackLossSpec, topClassesSpec } from './charts.js';
export { TRAINED_ON, type TrainedOn, defaultTrainedOn, classNames, buildModel, prepareImage } from './model-input.js';
