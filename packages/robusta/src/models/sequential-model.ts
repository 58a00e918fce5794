// Builds a zoo model that is a PyTorch nn.Sequential: layers named 0, 1, 2, ... so that the keys are
// PyTorch's ("0.weight"), with an optional input normaliser named "normalize" in front that adds no
// key (its statistics are not persistent).
import type { Module } from '../nn/module.js';
import { Sequential } from '../nn/sequential.js';
import { normalizeLayer, type NormalizationSpec } from './normalization.js';

export interface SequentialModelOptions {
  /** Standardise the [0, 1] input inside the model first. */
  normalize?: NormalizationSpec;
}

export function sequentialModel(layers: Module[], inChannels: number, normalize?: NormalizationSpec): Sequential {
  const norm = normalizeLayer(normalize, inChannels);
  if (norm === null) return new Sequential(...layers);
  return Sequential.fromEntries([['normalize', norm], ...layers.map((l, i): [string, Module] => [String(i), l])]);
}
