// What the server and an attack's child process say to each other over the IPC channel: one request
// down, progress and a result (or an error) up. Plain data only.
import type { PlaygroundMode } from './attack-catalog.js';
import type { TrainedOn } from './model-input.js';

export type ImageSource =
  | { kind: 'dataset'; dataset: 'mnist' | 'fashion-mnist'; index: number }
  /** A checked upload in the server's private folder. */
  | { kind: 'upload'; path: string };

export interface AttackRequest {
  model: string;
  /** The data the model was trained on: its normalisation, class count and class names. */
  trainedOn: TrainedOn;
  /** An absolute checkpoint path the server has resolved inside its folders, or null for random weights. */
  checkpoint: string | null;
  /** Seeds the random weights (and the attack's random draws). */
  seed: number;
  image: ImageSource;
  attack: string;
  params: Record<string, number | string | boolean>;
  mode: PlaygroundMode;
  /** The target class in mode 'targeted'. */
  target: number | null;
  /** libtorch intra-op threads of the child. */
  threads: number;
}

export interface TopClass {
  index: number;
  name: string;
  probability: number;
}

/** One model call during the attack: cross-entropy of the label (and of the target) at that point. */
export interface LossPoint {
  call: number;
  loss: number;
  targetLoss: number | null;
  /** Whether the call computed a gradient (an attack step) or only scored a point. */
  gradient: boolean;
}

export type WorkerMessage =
  | { type: 'status'; text: string }
  | {
    type: 'clean'; label: number; labelSource: 'dataset' | 'prediction'; classes: string[]; shape: number[];
    top5: TopClass[]; original: string; attack: string;
  }
  | { type: 'loss'; points: LossPoint[] }
  | {
    type: 'done'; top5: TopClass[]; cleanPred: number; advPred: number; success: boolean; target: number | null;
    linf: number; l2: number; perturbationScale: number; seconds: number; perturbation: string; adversarial: string;
  }
  | { type: 'error'; message: string };
