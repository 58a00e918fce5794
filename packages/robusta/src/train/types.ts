// What the trainer needs from its collaborators, as small structural interfaces: nn.Module, the
// optim package's optimizers and LR schedulers, and robusta/data's DataLoader all satisfy them.
import type { Tensor } from '@robusta/torch';
import type { TrainableModel } from '../defenses/types.js';

/** A model whose state can be saved and restored (nn.Module). */
export interface CheckpointableModel extends TrainableModel {
  /** Parameters and persistent buffers by name (new handles the caller disposes). */
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>): unknown;
}

/** The per-parameter state and groups of an optimizer (optim's OptimizerStateDict). */
export interface OptimizerState {
  state: Record<number, Record<string, Tensor | number>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** An optimizer (optim's SGD, Adam, AdamW). */
export interface OptimizerLike {
  readonly paramGroups: { lr: number; [key: string]: unknown }[];
  step(): void;
  zeroGrad(setToNone?: boolean): void;
  /** A snapshot whose tensors the caller owns. */
  stateDict(): OptimizerState;
  loadStateDict(state: OptimizerState): void;
}

/** A learning-rate schedule (optim's LRScheduler subclasses): stepped once per epoch or per batch. */
export interface ScheduleLike {
  step(): void;
  /** Plain data: numbers, strings, booleans, arrays and objects of them. */
  stateDict(): object;
  loadStateDict(state: never): void;
}

/** A batch of images in [0, 1] and int64 labels; the consumer owns both tensors. */
export interface TrainBatch {
  x: Tensor;
  y: Tensor;
}

/**
 * Batches by epoch (robusta/data's DataLoader): epoch(e) must give the same batches every time it is
 * asked for the same e — seeded per-epoch shuffling — which is what lets a resumed run match.
 */
export interface BatchSource {
  /** Batches per epoch. */
  readonly length: number;
  epoch(e: number): Iterable<TrainBatch> | AsyncIterable<TrainBatch>;
}
