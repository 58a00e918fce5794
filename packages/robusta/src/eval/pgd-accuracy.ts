// Clean and PGD robust accuracy on the first n examples: the measurement the trainer logs every epoch
// and the robust generalization gap is made of. Seeded and neutral to torch's random stream.
import type { Device } from '@robusta/torch';
import { dispose, tidy } from '@robusta/torch';
import type { Classifier } from '../attacks/classifier.js';
import { evaluateRobustness } from '../attacks/evaluate.js';
import type { Norm } from '../attacks/params.js';
import { PGD } from '../attacks/pgd.js';
import { PGDL2 } from '../attacks/pgdl2.js';
import { type ExampleSource, firstExamples } from './examples.js';
import { withRngPreserved } from './rng.js';

export interface PgdEvalOptions {
  /** The first n examples. Default 1000. */
  n?: number;
  /** Default 'Linf'. */
  norm?: Norm;
  /** Default 8/255 (Linf) or 0.5 (L2). */
  eps?: number;
  /** Default 10. */
  steps?: number;
  /** Step size. Default 2.5·ε/steps (Madry et al.'s rule: 2/255 for PGD-10 at 8/255). */
  alpha?: number;
  /** Default true: start at a uniformly random point of the ball. */
  randomStart?: boolean;
  /** Default 200. */
  batchSize?: number;
  /** Seed of the random starts (the caller's generator state is left untouched). Default 0. */
  seed?: number;
  /** Where the model runs (the examples are moved there). Default: where the examples are. */
  device?: Device;
}

export interface PgdEvalResult {
  examples: number;
  cleanAccuracy: number;
  /** Correct on the clean example and on its PGD example. */
  robustAccuracy: number;
}

/** Resolved PGD settings, for reports. */
export function pgdSettings(o: PgdEvalOptions): Required<Pick<PgdEvalOptions, 'norm' | 'eps' | 'steps' | 'alpha'>> {
  const norm = o.norm ?? 'Linf';
  const eps = o.eps ?? (norm === 'Linf' ? 8 / 255 : 0.5);
  const steps = o.steps ?? 10;
  return { norm, eps, steps, alpha: o.alpha ?? (2.5 * eps) / steps };
}

/** The PGD attack of the threat model. */
export function makePgd(model: Classifier, o: PgdEvalOptions) {
  const s = pgdSettings(o);
  const common = { eps: s.eps, alpha: s.alpha, steps: s.steps, randomStart: o.randomStart ?? true };
  return s.norm === 'Linf' ? new PGD(model, common) : new PGDL2(model, common);
}

export function pgdAccuracy(model: Classifier, source: ExampleSource, o: PgdEvalOptions = {}): PgdEvalResult {
  const data = firstExamples(source, o.n ?? 1000, 'pgdAccuracy');
  try {
    return withRngPreserved(() => {
      const { x, y } = o.device === undefined ? data : tidy(() => ({ x: data.x.to({ device: o.device! }), y: data.y.to({ device: o.device! }) }));
      try {
        // tidy: evaluateRobustness slices its batches outside any scope of its own.
        const r = tidy(() => evaluateRobustness(model, x, y, { pgd: makePgd(model, o) }, { batchSize: o.batchSize ?? 200, seed: o.seed ?? 0 }));
        return { examples: r.examples, cleanAccuracy: r.cleanAccuracy, robustAccuracy: r.robustAccuracy.pgd! };
      } finally {
        if (x !== data.x) dispose([x, y]);
      }
    }, o.device);
  } finally {
    dispose(data);
  }
}
