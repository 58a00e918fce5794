// Creating parameter tensors: uninitialised storage, kept out of tidy scopes, recording gradients.
import { type DType, empty, keep, type Tensor } from '@robusta/torch';

/** An uninitialised float tensor for a parameter: fill it with an init function before use. */
export function emptyParameter(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return keep(empty(shape, { dtype })).requiresGrad_(true);
}
