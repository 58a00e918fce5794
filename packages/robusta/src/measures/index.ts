// robusta/measures: robustness measures of trained models (one file per measure family) and the
// registry that names them; statistics over many models live in robusta/stats.
export {
  type MeasureDefinition, type MeasureContext, type MeasureResult, type MeasureSettings, type MeasureAttack,
  type MeasureCost, type MeasureFamily, type Split, MeasureError,
} from './types.js';
export { DefaultMeasureContext, type MeasureData, type MeasureSettingsInput, resolveSettings, DEFAULT_SETTINGS, batchedLogits, mean, quantile } from './context.js';
export { listMeasures, getMeasure, selectMeasures, type MeasureSelection } from './registry.js';
export {
  computeMeasures, nonFiniteTensors, type ComputeMeasuresOptions, type MeasuredValue, type MeasurementReport, type MeasureProgress,
} from './compute.js';
