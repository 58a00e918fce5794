// (to be written)
import type { MeasureDefinition } from './types.js';

export const MARGIN_MEASURES: MeasureDefinition[] = [];
