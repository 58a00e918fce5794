// The study explorer's data: the library's own analysis (robusta/study analyseStudy: one model per run
// and checkpoint, Kendall τ with the gap overall, per defense and granulated, bootstrap intervals) and
// the report's own Vega-Lite specs (robusta/report), so that the explorer and `robusta study report`
// show the same numbers. Filters by axis value are applied underneath the analysis — it sees a store
// whose runs (and checkpoints) are only those kept — so τ is recomputed on what the plot shows.
import { report, study } from 'robusta';
import type { StoreRegistry } from './stores.js';

/** Axis → the values kept (an axis not named keeps all). */
export type StudyFilters = Record<string, string[]>;

export interface StudyListing {
  storeId: string;
  store: string;
  name: string;
  description: string;
  dataset: string;
  counts: study.StatusCounts;
  axes: string[];
  /** Every value each axis takes in the plan ('checkpoint' included when it is an axis). */
  axisValues: Record<string, string[]>;
}

export interface StudyView {
  listing: StudyListing;
  filters: StudyFilters;
  data: report.StudyReportData;
  /** The scatter plot of the chosen measure (gap vs measure, colour = defense). */
  measure: string | null;
  scatter: object | null;
  robustAccuracy: object;
}

function axisValues(plan: study.StudyPlan): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const axis of plan.axes) {
    const values = new Set<string>();
    for (const run of plan.runs) {
      if (axis === 'checkpoint') for (const c of run.checkpoints) values.add(c);
      else if (axis in run.settings) values.add(String(run.settings[axis]));
    }
    out[axis] = [...values];
  }
  return out;
}

/** A read-only view of a store in which only the runs and checkpoints passing the filters exist. */
export function filteredStore(store: study.StudyStore, filters: StudyFilters): study.StudyStore {
  const keeps = (axis: string, value: unknown) => !filters[axis] || filters[axis]!.includes(String(value));
  const runs: study.StudyStore['runs'] = async (name, o) =>
    (await store.runs(name, o)).filter((r) => Object.entries(r.settings).every(([k, v]) => keeps(k, v)))
      .map((r) => ({ ...r, checkpoints: r.checkpoints.filter((c) => keeps('checkpoint', c)) }));
  const measurements: study.StudyStore['measurements'] = async (name) =>
    (await store.measurements(name)).filter((m) => keeps('checkpoint', m.checkpoint));
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'runs') return runs;
      if (prop === 'measurements') return measurements;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export class StudyExplorer {
  private readonly cache = new Map<string, { fingerprint: string; data: report.StudyReportData }>();

  constructor(private readonly stores: StoreRegistry, private readonly bootstrapSamples = 200) {}

  async list(): Promise<StudyListing[]> {
    const out: StudyListing[] = [];
    for (const info of this.stores.list()) {
      const { store } = this.stores.get(info.id)!;
      for (const name of await store.studies()) {
        const plan = await store.getPlan(name);
        if (!plan) continue;
        out.push({
          storeId: info.id, store: info.label, name, description: plan.description, dataset: plan.dataset,
          counts: await store.counts(name), axes: plan.axes, axisValues: axisValues(plan),
        });
      }
    }
    return out;
  }

  /** The analysis of a study under filters, and the plots of one measure; undefined for an unknown study. */
  async view(storeId: string, name: string, filters: StudyFilters, measure?: string): Promise<StudyView | undefined> {
    const listing = (await this.list()).find((l) => l.storeId === storeId && l.name === name);
    if (!listing) return undefined;
    for (const [axis, values] of Object.entries(filters)) {
      if (!listing.axes.includes(axis)) throw new RangeError(`the study has no axis '${axis}' (axes: ${listing.axes.join(', ') || 'none'})`);
      // '' keeps nothing (every value unticked).
      for (const v of values) if (v !== '' && !listing.axisValues[axis]!.includes(v)) throw new RangeError(`axis '${axis}' has no value '${v}'`);
    }
    const { store } = this.stores.get(storeId)!;
    const data = await this.analyse(store, name, filters);
    const chosen = data.measures.find((m) => m.name === measure) ?? data.measures[0] ?? null;
    if (measure !== undefined && measure !== '' && chosen?.name !== measure) throw new RangeError(`the study has no measure '${measure}'`);
    return {
      listing, filters, data, measure: chosen?.name ?? null,
      scatter: chosen ? report.measureScatterSpec(data, chosen) : null,
      robustAccuracy: report.robustAccuracySpec(data),
    };
  }

  private async analyse(store: study.StudyStore, name: string, filters: StudyFilters): Promise<report.StudyReportData> {
    const key = JSON.stringify([store.location, name, Object.entries(filters).sort()]);
    // Anything the analysis reads changes these counts: a finished run, a new measurement.
    const fingerprint = JSON.stringify([await store.counts(name), (await store.measurements(name)).length]);
    const hit = this.cache.get(key);
    if (hit && hit.fingerprint === fingerprint) return hit.data;
    const data = await study.analyseStudy(filteredStore(store, filters), name, { bootstrapSamples: this.bootstrapSamples, seed: 0 });
    if (this.cache.size > 100) this.cache.clear();
    this.cache.set(key, { fingerprint, data });
    return data;
  }
}
