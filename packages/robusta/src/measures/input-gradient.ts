// (to be written)
import type { MeasureDefinition } from './types.js';

export const INPUT_GRADIENT_MEASURES: MeasureDefinition[] = [];
