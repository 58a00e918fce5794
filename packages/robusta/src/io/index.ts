// Checkpoint I/O: PyTorch's torch.save formats (zip and legacy) and safetensors, read safely.
export { CheckpointError, type CheckpointErrorCode } from './errors.js';
export {
  loadTorchFile, loadStateDict, saveTorchFile, encodeTorchFile,
  type LoadOptions, type LoadStateDictOptions, type SaveOptions,
} from './torch-file.js';
export {
  loadSafetensors, saveSafetensors, encodeSafetensors, readSafetensorsHeader, MAX_SAFETENSORS_HEADER,
  type SafetensorsFile, type SafetensorsHeader, type SafetensorsEntry, type TensorDict,
} from './safetensors.js';
export { PickledObject, type UnknownGlobals } from './torch-pickle.js';
export { STATE_DICT_KEYS, DEFAULT_STRIP_PREFIXES, type FindStateDictOptions } from './state-dict.js';
export { type CheckpointFormat } from './format.js';
