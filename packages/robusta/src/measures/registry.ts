// Every robustness measure by name. A study or the CLI picks 'all', 'cheap' (cost 'cheap' only) or a
// list of names; an unknown name is an error that lists the known ones.
import { ACCURACY_MEASURES } from './accuracy.js';
import { BOUNDARY_THICKNESS_MEASURES } from './boundary-thickness.js';
import { FLATNESS_MEASURES } from './flatness.js';
import { INPUT_GRADIENT_MEASURES } from './input-gradient.js';
import { KL_DIVERGENCE_MEASURES } from './kl-divergence.js';
import { LOCAL_LIPSCHITZ_MEASURES } from './local-lipschitz.js';
import { MARGIN_MEASURES } from './margins.js';
import { type MeasureDefinition, MeasureError } from './types.js';
import { WEIGHT_NORM_MEASURES } from './weight-norms.js';

const ALL: readonly MeasureDefinition[] = [
  ...ACCURACY_MEASURES,
  ...WEIGHT_NORM_MEASURES,
  ...MARGIN_MEASURES,
  ...LOCAL_LIPSCHITZ_MEASURES,
  ...KL_DIVERGENCE_MEASURES,
  ...INPUT_GRADIENT_MEASURES,
  ...FLATNESS_MEASURES,
  ...BOUNDARY_THICKNESS_MEASURES,
];

const BY_NAME = new Map<string, MeasureDefinition>();
for (const m of ALL) {
  if (BY_NAME.has(m.name)) throw new Error(`measures: duplicate measure name '${m.name}'`);
  BY_NAME.set(m.name, m);
}

/** Every measure, in a stable order (families as listed above). */
export function listMeasures(): readonly MeasureDefinition[] {
  return ALL;
}

export function getMeasure(name: string): MeasureDefinition {
  const m = BY_NAME.get(name);
  if (!m) throw new MeasureError(`unknown measure '${name}' (known: ${[...BY_NAME.keys()].join(', ')}; or 'all', 'cheap')`);
  return m;
}

/** 'all', 'cheap', a comma-separated string or a list of names (also the groups 'all'/'cheap' inside a list). */
export type MeasureSelection = 'all' | 'cheap' | string | readonly string[];

export function selectMeasures(selection: MeasureSelection): MeasureDefinition[] {
  const names = typeof selection === 'string' ? selection.split(',').map((s) => s.trim()).filter((s) => s !== '') : [...selection];
  if (names.length === 0) throw new MeasureError('measures: the selection is empty (give names, \'all\' or \'cheap\')');
  const out: MeasureDefinition[] = [];
  const add = (m: MeasureDefinition) => {
    if (!out.includes(m)) out.push(m);
  };
  for (const n of names) {
    if (n === 'all') ALL.forEach(add);
    else if (n === 'cheap') ALL.filter((m) => m.cost === 'cheap').forEach(add);
    else add(getMeasure(n));
  }
  return out;
}
