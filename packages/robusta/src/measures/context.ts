// The shared state of one measurement: the example subsets, their PGD examples (attacked once and
// shared by every adversarial measure), and memoised family computations.
import * as torch from '@robusta/torch';
import { cat, dispose, keep, type Tensor, tidy } from '@robusta/torch';
import { PGD } from '../attacks/pgd.js';
import { PGDL2 } from '../attacks/pgdl2.js';
import { type ExampleSource, firstExamples } from '../eval/examples.js';
import { withRngPreserved } from '../eval/rng.js';
import type { Module, StateDict } from '../nn/module.js';
import { type MeasureContext, MeasureError, type MeasureSettings, type Split } from './types.js';

export interface MeasureData {
  /** The training split (or any examples) the example-based measures run on by default. */
  train?: ExampleSource;
  /** The test split (test accuracies and the gap). */
  test?: ExampleSource;
}

/** Settings as given: any field may be left out. */
export type MeasureSettingsInput = Partial<Omit<MeasureSettings, 'attack'>> & { attack?: Partial<MeasureSettings['attack']> };

export const DEFAULT_SETTINGS: MeasureSettings = {
  n: 1000, seed: 0, batchSize: 200, split: 'train',
  attack: { norm: 'Linf', eps: 8 / 255, alpha: (2.5 * 8) / 255 / 10, steps: 10 },
};

/** Settings with defaults filled in and checked. */
export function resolveSettings(o: MeasureSettingsInput = {}): MeasureSettings {
  const norm = o.attack?.norm ?? 'Linf';
  const eps = o.attack?.eps ?? (norm === 'Linf' ? 8 / 255 : 0.5);
  const steps = o.attack?.steps ?? 10;
  const s: MeasureSettings = {
    n: o.n ?? DEFAULT_SETTINGS.n, seed: o.seed ?? DEFAULT_SETTINGS.seed, batchSize: o.batchSize ?? DEFAULT_SETTINGS.batchSize,
    split: o.split ?? DEFAULT_SETTINGS.split,
    attack: { norm, eps, steps, alpha: o.attack?.alpha ?? (2.5 * eps) / steps },
  };
  const int = (k: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new MeasureError(`measures: ${k} must be an integer >= ${min}, got ${v}`);
  };
  int('n', s.n, 1);
  int('batchSize', s.batchSize, 1);
  int('seed', s.seed, 0);
  int('attack.steps', s.attack.steps, 1);
  if (s.split !== 'train' && s.split !== 'test') throw new MeasureError(`measures: split must be 'train' or 'test', got '${String(s.split)}'`);
  if (norm !== 'Linf' && norm !== 'L2') throw new MeasureError(`measures: attack.norm must be 'Linf' or 'L2', got '${String(norm)}'`);
  for (const k of ['eps', 'alpha'] as const) {
    const v = s.attack[k];
    if (!(Number.isFinite(v) && v >= 0)) throw new MeasureError(`measures: attack.${k} must be a finite number >= 0, got ${v}`);
  }
  return s;
}

export class DefaultMeasureContext implements MeasureContext {
  readonly model: Module;
  readonly settings: Readonly<MeasureSettings>;
  readonly initialState: StateDict | null;
  private readonly data: MeasureData;
  private readonly cache = new Map<string, { x: Tensor; y: Tensor }>();
  private readonly advCache = new Map<Split, Tensor>();
  private readonly memos = new Map<string, unknown>();

  constructor(model: Module, data: MeasureData, settings: MeasureSettings, initialState: StateDict | null = null) {
    this.model = model;
    this.data = data;
    this.settings = settings;
    this.initialState = initialState;
  }

  readonly hasSplit = (split: Split): boolean => this.data[split] !== undefined;

  examples(split: Split = this.settings.split): { x: Tensor; y: Tensor } {
    let e = this.cache.get(split);
    if (!e) {
      const source = this.data[split];
      if (!source) throw new MeasureError(`measures: no ${split} examples were given`);
      e = firstExamples(source, this.settings.n, `measures (${split} examples)`);
      const device = this.model.device;
      if (e.x.device !== device) {
        const moved = tidy(() => ({ x: keep(e!.x.to({ device })), y: keep(e!.y.to({ device })) }));
        dispose(e);
        e = moved;
      }
      this.cache.set(split, e);
    }
    return e;
  }

  adversarial(split: Split = this.settings.split): Tensor {
    let adv = this.advCache.get(split);
    if (!adv) {
      const { x, y } = this.examples(split);
      const a = this.settings.attack;
      const common = { eps: a.eps, alpha: a.alpha, steps: a.steps, randomStart: true };
      const attack = a.norm === 'Linf' ? new PGD(this.model, common) : new PGDL2(this.model, common);
      const bs = this.settings.batchSize;
      const n = x.shape[0]!;
      adv = withRngPreserved(() => tidy(() => {
        const parts: Tensor[] = [];
        for (let b = 0, start = 0; start < n; b++, start += bs) {
          const len = Math.min(bs, n - start);
          torch.manualSeed(this.settings.seed + b);
          parts.push(attack.generate(x.narrow(0, start, len), y.narrow(0, start, len)));
        }
        return keep(cat(parts, 0));
      }), x.device);
      this.advCache.set(split, adv);
    }
    return adv;
  }

  memo<T>(key: string, compute: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, compute());
    return this.memos.get(key) as T;
  }

  dispose(): void {
    for (const e of this.cache.values()) dispose(e);
    for (const a of this.advCache.values()) a.dispose();
    this.cache.clear();
    this.advCache.clear();
    this.memos.clear();
  }
}

/** Runs fn(ctx, batch) over consecutive batches of n examples; returns the concatenated numbers. */
export function perExampleBatches(n: number, batchSize: number, fn: (start: number, length: number) => number[]): number[] {
  const out: number[] = [];
  for (let start = 0; start < n; start += batchSize) out.push(...fn(start, Math.min(batchSize, n - start)));
  return out;
}

/** Mean of a list (NaN for an empty one). */
export const mean = (v: readonly number[]): number => (v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length);

/**
 * The q-quantile with linear interpolation between order statistics (numpy's and torch.quantile's
 * default), e.g. q = 0.1 for Jiang et al.'s 10th-percentile margin.
 */
export function quantile(v: readonly number[], q: number): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Logits of x in batches, without autograd (kept; the caller disposes or runs inside tidy). */
export function batchedLogits(model: Module, x: Tensor, batchSize: number): Tensor {
  const n = x.shape[0]!;
  return torch.noGrad(() => tidy(() => {
    const parts: Tensor[] = [];
    for (let start = 0; start < n; start += batchSize) parts.push(model.forward(x.narrow(0, start, Math.min(batchSize, n - start))));
    return parts.length === 1 ? parts[0]! : cat(parts, 0);
  }));
}
