// (to be written)
import type { MeasureDefinition } from './types.js';

export const KL_DIVERGENCE_MEASURES: MeasureDefinition[] = [];
