// (to be written)
import type { MeasureDefinition } from './types.js';

export const WEIGHT_NORM_MEASURES: MeasureDefinition[] = [];
