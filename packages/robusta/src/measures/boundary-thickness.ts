// (to be written)
import type { MeasureDefinition } from './types.js';

export const BOUNDARY_THICKNESS_MEASURES: MeasureDefinition[] = [];
