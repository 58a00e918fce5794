// What the CLI commands share: names checked as usage errors (printed with the command's usage),
// and model weights from a checkpoint. The catalogues themselves live in robusta/train.
import { io, type nn, train } from 'robusta';
import { UsageError } from './args.js';

export const { DATASETS, DEFENSES, SCHEDULES, loadSplit, normalizationOf, recipeOf } = train;
export type DatasetName = train.DatasetName;

export function checkDataset(name: string): DatasetName {
  if (!train.isDatasetName(name)) throw new UsageError(`unknown dataset '${name}' (${DATASETS.join(', ')})`);
  return name;
}

/** Loads a torch.save / safetensors checkpoint (a bare state_dict or one nested under model/state_dict) into a model. */
export function loadWeights(model: nn.Module, path: string): void {
  const state = path.endsWith('.safetensors') ? io.loadSafetensors(path).tensors : io.loadStateDict(path);
  try {
    model.loadStateDict(state, { strict: true });
  } finally {
    for (const t of state.values()) t.dispose();
  }
}
