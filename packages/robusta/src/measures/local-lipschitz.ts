// (to be written)
import type { MeasureDefinition } from './types.js';

export const LOCAL_LIPSCHITZ_MEASURES: MeasureDefinition[] = [];
