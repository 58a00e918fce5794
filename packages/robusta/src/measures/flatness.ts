// (to be written)
import type { MeasureDefinition } from './types.js';

export const FLATNESS_MEASURES: MeasureDefinition[] = [];
