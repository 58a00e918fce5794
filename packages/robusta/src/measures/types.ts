// What a robustness measure is: a named number computed on a trained model (and, for most, on a
// fixed subset of examples), with its unit, its cost, and the sign its paper predicts for its
// correlation with the robust generalization gap. The registry (registry.ts) lists them by name.
import type { Tensor } from '@robusta/torch';
import type { Module, StateDict } from '../nn/module.js';
import type { Norm } from '../attacks/params.js';

export type Split = 'train' | 'test';

/** How expensive a measure is, on the same subset: 'cheap' ≈ a few forward/backward passes. */
export type MeasureCost = 'cheap' | 'moderate' | 'expensive';

export type MeasureFamily = 'weight-norm' | 'margin' | 'smoothness' | 'flatness' | 'boundary-thickness' | 'accuracy';

/** The PGD attack that makes the adversarial examples of the adversarial measures (the gap's attack). */
export interface MeasureAttack {
  norm: Norm;
  eps: number;
  alpha: number;
  steps: number;
}

export interface MeasureSettings {
  /** Examples of each split: the first n (default 1000). */
  n: number;
  /** Seeds every random draw of every measure (default 0); the caller's generator is left as it was. */
  seed: number;
  /** Examples per forward/backward batch (default 200). */
  batchSize: number;
  /** The split the example-based measures run on (default 'train', as Jiang et al. and Kim et al.). */
  split: Split;
  /** PGD of the adversarial measures and of the gap (default PGD-10, L∞, ε 8/255, α 2.5ε/10, random start). */
  attack: MeasureAttack;
}

/**
 * What a measure sees. Examples and adversarial examples are computed once per context and shared
 * by every measure (they are owned by the context: read them, never dispose them).
 */
export interface MeasureContext {
  /** The model, already in eval() mode. */
  readonly model: Module;
  readonly settings: Readonly<MeasureSettings>;
  /** The weights at initialisation (distance from init), when known. */
  readonly initialState: StateDict | null;
  /** Whether a test split was given. */
  readonly hasSplit: (split: Split) => boolean;
  /** The first n examples of a split (default settings.split): x float [n, ...] in [0, 1], y int64 [n]. */
  examples(split?: Split): { x: Tensor; y: Tensor };
  /**
   * PGD examples of examples(split) under settings.attack. Batch b of settings.batchSize is attacked
   * after torch.manualSeed(seed + b) (the convention of robusta's evaluateRobustness, so robust
   * accuracy on them equals pgdAccuracy's with the same seed and batch size).
   */
  adversarial(split?: Split): Tensor;
  /** Memoises a plain (non-tensor) value under a key, so families of measures share one computation. */
  memo<T>(key: string, compute: () => T): T;
}

export interface MeasureResult {
  value: number;
  /** The per-example values, where the measure is a mean (or a quantile) over examples. */
  perExample?: number[];
}

export interface MeasureDefinition {
  /** kebab-case, unique: 'output-margin-adv-p10'. */
  name: string;
  family: MeasureFamily;
  /** One line: what is computed. */
  description: string;
  /** The unit of the value: 'logit', 'L2 distance', 'nats', 'count', 'fraction', ... */
  unit: string;
  /**
   * +1: according to its paper, a larger value predicts a smaller robust generalization gap (better
   * generalisation); −1: a larger value predicts a larger gap; 0: its paper makes no claim.
   */
  direction: 1 | -1 | 0;
  cost: MeasureCost;
  /** The paper the definition comes from. */
  reference: string;
  needs?: { initialWeights?: boolean; testSplit?: boolean; examples?: boolean };
  compute(ctx: MeasureContext): MeasureResult;
}

/** A bad measure request: unknown name, empty subset, a model without the layers a measure needs. */
export class MeasureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MeasureError';
  }
}
