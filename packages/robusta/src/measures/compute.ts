// Computes a selection of measures on one model: each in eval() mode, seeded with settings.seed (so
// a measure's value does not depend on which others ran before it), timed, and isolated: a measure
// that fails reports NaN with its error and the others still run.
import * as torch from '@robusta/torch';
import { tidy } from '@robusta/torch';
import { withRngPreserved } from '../eval/rng.js';
import type { Module, StateDict } from '../nn/module.js';
import { DefaultMeasureContext, type MeasureData, type MeasureSettingsInput, resolveSettings } from './context.js';
import { type MeasureSelection, selectMeasures } from './registry.js';
import { type MeasureDefinition, type MeasureFamily, type MeasureSettings } from './types.js';

export interface ComputeMeasuresOptions extends MeasureSettingsInput {
  /** 'all' (default), 'cheap', or names. */
  measures?: MeasureSelection;
  /** The weights at initialisation (for distance from initialisation). */
  initialState?: StateDict | null;
  /** Called before (done false) and after (done true) each measure. */
  onProgress?: (p: MeasureProgress) => void;
}

export interface MeasureProgress {
  index: number;
  total: number;
  name: string;
  done: boolean;
  seconds?: number;
}

export interface MeasuredValue {
  name: string;
  family: MeasureFamily;
  unit: string;
  direction: 1 | -1 | 0;
  value: number;
  perExample?: number[];
  seconds: number;
  /** Why the value is NaN, when the measure could not be computed. */
  error?: string;
}

export interface MeasurementReport {
  settings: MeasureSettings;
  measures: MeasuredValue[];
  /** E.g. non-finite weights, named. */
  warnings: string[];
  seconds: number;
}

/** Names of parameters and buffers holding NaN or ±Inf. */
export function nonFiniteTensors(model: Module): string[] {
  return tidy(() => [...model.namedParameters(), ...model.namedBuffers()]
    .filter(([, t]) => t.dtype.startsWith('float') && !t.isfinite().all().item())
    .map(([k]) => k));
}

export function computeMeasures(model: Module, data: MeasureData, o: ComputeMeasuresOptions = {}): MeasurementReport {
  const settings = resolveSettings(o);
  const selected = selectMeasures(o.measures ?? 'all');
  const started = performance.now();
  const warnings: string[] = [];
  const bad = nonFiniteTensors(model);
  if (bad.length > 0) warnings.push(`non-finite values (NaN or Inf) in ${bad.join(', ')}: measures that use them are NaN`);
  const ctx = new DefaultMeasureContext(model, data, settings, o.initialState ?? null);
  const wasTraining = model.training;
  model.eval();
  const measures: MeasuredValue[] = [];
  try {
    // An empty or malformed subset is an error of the whole request, reported before any work.
    if (selected.some(needsExamples) && data[settings.split]) ctx.examples();
    selected.forEach((m, index) => {
      o.onProgress?.({ index, total: selected.length, name: m.name, done: false });
      const t0 = performance.now();
      const entry = runOne(m, ctx, data);
      entry.seconds = (performance.now() - t0) / 1000;
      measures.push(entry);
      o.onProgress?.({ index, total: selected.length, name: m.name, done: true, seconds: entry.seconds });
    });
  } finally {
    ctx.dispose();
    model.train(wasTraining);
  }
  return { settings, measures, warnings, seconds: (performance.now() - started) / 1000 };
}

const needsExamples = (m: MeasureDefinition): boolean => m.needs?.examples ?? true;

function runOne(m: MeasureDefinition, ctx: DefaultMeasureContext, data: MeasureData): MeasuredValue {
  const base = { name: m.name, family: m.family, unit: m.unit, direction: m.direction, seconds: 0 };
  const missing = m.needs?.initialWeights && !ctx.initialState ? 'needs the initial weights (the trainer writes init.pt)'
    : m.needs?.testSplit && !data.test ? 'needs the test split'
      : needsExamples(m) && !data[ctx.settings.split] ? `needs ${ctx.settings.split} examples`
        : null;
  if (missing) return { ...base, value: NaN, error: `${m.name} ${missing}` };
  try {
    const r = withRngPreserved(() => {
      torch.manualSeed(ctx.settings.seed);
      return tidy(() => m.compute(ctx));
    }, ctx.model.device);
    ctx.model.eval();
    return r.perExample ? { ...base, value: r.value, perExample: r.perExample } : { ...base, value: r.value };
  } catch (e) {
    ctx.model.eval();
    if (!(e instanceof Error)) throw e;
    return { ...base, value: NaN, error: `${m.name}: ${e.message}` };
  }
}
