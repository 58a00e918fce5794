// RobustBench-style evaluation of one model: clean, FGSM, PGD-k and AutoAttack accuracy on the first
// n test examples, as a text table and a leaderboard entry. An example counts as robust under an
// attack only when it is classified correctly both clean and adversarially (AutoAttack's rule).
import type { Device } from '@robusta/torch';
import { dispose, tidy } from '@robusta/torch';
import type { Attack } from '../attacks/attack.js';
import { AutoAttack, type AutoAttackOptions } from '../attacks/autoattack.js';
import type { Classifier } from '../attacks/classifier.js';
import { evaluateRobustness, type EvaluationProgress } from '../attacks/evaluate.js';
import { FGSM } from '../attacks/fgsm.js';
import { PGDL2 } from '../attacks/pgdl2.js';
import { type ExampleSource, firstExamples } from './examples.js';
import { makePgd, pgdSettings } from './pgd-accuracy.js';
import { epsString, percentString, type RobustBenchEntry, type ThreatModel } from './robustbench.js';
import { withRngPreserved } from './rng.js';

export type BenchmarkAttack = 'fgsm' | 'pgd' | 'autoattack';

/** An attack built by the caller, reported under `name`. */
export interface NamedAttack {
  name: string;
  attack: Attack;
}

export interface BenchmarkOptions {
  /** Reported as `name`. Default 'model'. */
  modelName?: string;
  /** Reported as `dataset` (RobustBench writes 'cifar10', 'cifar100', 'imagenet'). Default 'unknown'. */
  dataset?: string;
  /** Default 'Linf'. */
  threatModel?: ThreatModel;
  /** Default 8/255 (Linf) or 0.5 (L2). */
  eps?: number;
  /** The first n examples. Default 1000. */
  n?: number;
  /** Default 100. */
  batchSize?: number;
  /** Which attacks, in order: the three standard ones by name, or attacks built by the caller. Default all three. */
  attacks?: (BenchmarkAttack | NamedAttack)[];
  /** PGD iterations. Default 10. */
  pgdSteps?: number;
  /** PGD step size. Default 2.5·ε/steps. */
  pgdAlpha?: number;
  /** AutoAttack settings (version, steps, nQueries, ...). Default: the standard version. */
  autoAttack?: Omit<AutoAttackOptions, 'norm' | 'eps' | 'seed'>;
  /** Seeds every attack's random draws; the caller's generator is left as it was. Default 0. */
  seed?: number;
  /** Resume file for long evaluations (see attacks' evaluateRobustness). */
  checkpointPath?: string;
  onProgress?: (p: EvaluationProgress) => void;
  /** Where the model runs (the examples are moved there). */
  device?: Device;
  /** Reported as additional_data. Default false. */
  additionalData?: boolean;
}

export interface BenchmarkReport {
  modelName: string;
  dataset: string;
  threatModel: ThreatModel;
  eps: number;
  examples: number;
  cleanAccuracy: number;
  /** By display name: 'FGSM', 'PGD-10', 'AutoAttack'. */
  robustAccuracy: Record<string, number>;
  /** Robust against every attack run. */
  worstCaseAccuracy: number;
  seconds: number;
  /** An aligned text table of the accuracies. */
  table: string;
  robustbench: RobustBenchEntry;
}

const KNOWN: readonly BenchmarkAttack[] = ['fgsm', 'pgd', 'autoattack'];

export function benchmarkRobustness(model: Classifier, source: ExampleSource, o: BenchmarkOptions = {}): BenchmarkReport {
  const threatModel = o.threatModel ?? 'Linf';
  if (threatModel !== 'Linf' && threatModel !== 'L2') throw new RangeError(`benchmarkRobustness: threatModel must be 'Linf' or 'L2', got '${String(threatModel)}'`);
  const eps = o.eps ?? (threatModel === 'Linf' ? 8 / 255 : 0.5);
  if (!(Number.isFinite(eps) && eps >= 0)) throw new RangeError(`benchmarkRobustness: eps must be a finite number >= 0, got ${eps}`);
  const kinds = o.attacks ?? [...KNOWN];
  if (kinds.length === 0) throw new RangeError('benchmarkRobustness: give at least one attack');
  for (const k of kinds) {
    if (typeof k === 'string' ? !KNOWN.includes(k) : !(k && typeof k.name === 'string' && k.attack)) {
      throw new RangeError(`benchmarkRobustness: unknown attack '${typeof k === 'string' ? k : JSON.stringify(k)}' (use ${KNOWN.join(', ')} or { name, attack })`);
    }
  }
  const seed = o.seed ?? 0;
  const pgd = pgdSettings({ norm: threatModel, eps, steps: o.pgdSteps, alpha: o.pgdAlpha });
  const pgdName = `PGD-${pgd.steps}`;
  const attacks: Record<string, Attack> = {};
  for (const k of kinds) {
    if (typeof k !== 'string') {
      if (k.name in attacks) throw new RangeError(`benchmarkRobustness: two attacks are named '${k.name}'`);
      attacks[k.name] = k.attack;
    } else if (k === 'fgsm') {
      // L2 has no sign step: its one-step counterpart is the normalised gradient step of length ε (FGM).
      attacks.FGSM = threatModel === 'Linf'
        ? new FGSM(model, { eps, seed })
        : new PGDL2(model, { eps, alpha: eps, steps: 1, randomStart: false, seed });
    } else if (k === 'pgd') {
      attacks[pgdName] = makePgd(model, { ...pgd, norm: threatModel });
    } else {
      attacks.AutoAttack = new AutoAttack(model, { ...o.autoAttack, norm: threatModel, eps, seed });
    }
  }
  const started = performance.now();
  const data = firstExamples(source, o.n ?? 1000, 'benchmarkRobustness');
  const result = (() => {
    try {
      return withRngPreserved(() => {
        const { x, y } = o.device === undefined ? data : tidy(() => ({ x: data.x.to({ device: o.device! }), y: data.y.to({ device: o.device! }) }));
        try {
          // tidy: evaluateRobustness slices its batches outside any scope of its own.
          return tidy(() => evaluateRobustness(model, x, y, attacks, {
            batchSize: o.batchSize ?? 100, seed, checkpointPath: o.checkpointPath, onProgress: o.onProgress,
          }));
        } finally {
          if (x !== data.x) dispose([x, y]);
        }
      }, o.device);
    } finally {
      dispose(data);
    }
  })();
  const modelName = o.modelName ?? 'model';
  const dataset = o.dataset ?? 'unknown';
  const acc = result.robustAccuracy;
  const report: Omit<BenchmarkReport, 'table' | 'robustbench'> = {
    modelName, dataset, threatModel, eps, examples: result.examples, cleanAccuracy: result.cleanAccuracy,
    robustAccuracy: acc, worstCaseAccuracy: result.worstCaseAccuracy, seconds: (performance.now() - started) / 1000,
  };
  const pctOrNull = (v: number | undefined): string | null => (v === undefined ? null : percentString(v));
  return {
    ...report,
    table: formatBenchmarkTable(report),
    robustbench: {
      name: modelName, dataset, threat_model: threatModel, eps: epsString(eps),
      clean_acc: percentString(result.cleanAccuracy),
      autoattack_acc: pctOrNull(acc.AutoAttack),
      fgsm_acc: pctOrNull(acc.FGSM),
      pgd_acc: pctOrNull(acc[pgdName]),
      pgd_steps: pgd.steps,
      n_examples: result.examples,
      additional_data: o.additionalData ?? false,
      number_forward_passes: 1,
    },
  };
}

/** Model, threat model and accuracies as an aligned text table. */
export function formatBenchmarkTable(r: Omit<BenchmarkReport, 'table' | 'robustbench'>): string {
  const rows: [string, string][] = [['Clean', `${percentString(r.cleanAccuracy)}%`]];
  for (const [name, v] of Object.entries(r.robustAccuracy)) rows.push([name, `${percentString(v)}%`]);
  if (Object.keys(r.robustAccuracy).length > 1) rows.push(['Worst case', `${percentString(r.worstCaseAccuracy)}%`]);
  const title = `${r.modelName} on ${r.dataset}, ${r.threatModel} ε = ${epsString(r.eps)}, n = ${r.examples}`;
  const w = Math.max('Attack'.length, ...rows.map(([n]) => n.length));
  const header = `${'Attack'.padEnd(w)} | Accuracy`;
  return [title, header, `${'-'.repeat(w)}-+-${'-'.repeat(8)}`, ...rows.map(([n, v]) => `${n.padEnd(w)} | ${v.padStart(8)}`)].join('\n');
}
