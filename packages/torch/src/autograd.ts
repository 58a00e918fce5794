// Autograd beyond Tensor.backward: grad() with create_graph (double backward) and grad-mode scopes.
import { native } from './native.js';
import { th, thOpt, type Tensor, wrapOrNull } from './tensor.js';

export interface GradOptions {
  /** Gradients of the outputs (required for non-scalar outputs). */
  gradOutputs?: (Tensor | null)[];
  retainGraph?: boolean;
  /** Build a graph of the gradient itself, for higher-order derivatives. */
  createGraph?: boolean;
  /** Give null for inputs the outputs do not depend on, instead of raising. */
  allowUnused?: boolean;
}

/** d(outputs)/d(inputs), like torch.autograd.grad; the .grad fields are not touched. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], o: GradOptions = {}): (Tensor | null)[] {
  const outs = (Array.isArray(outputs) ? outputs : [outputs]).map((t) => th(t, 'outputs'));
  const ins = (Array.isArray(inputs) ? inputs : [inputs]).map((t) => th(t, 'inputs'));
  const gos = o.gradOutputs ? o.gradOutputs.map((t) => thOpt(t, 'gradOutputs')) : null;
  return native.grad(outs, ins, gos, o.retainGraph, o.createGraph ?? false, o.allowUnused ?? false).map(wrapOrNull);
}

/** Back-propagates from several tensors at once, like torch.autograd.backward. */
export function backward(tensors: Tensor[], gradTensors?: (Tensor | null)[], o: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(tensors.map((t) => th(t, 'tensors')), gradTensors ? gradTensors.map((t) => thOpt(t, 'gradTensors')) : null,
    o.retainGraph, o.createGraph ?? false);
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.setGradEnabled(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('noGrad()/enableGrad() take a synchronous function');
    return r;
  } finally {
    native.setGradEnabled(previous);
  }
}
/** Runs fn without recording operations for autograd (torch.no_grad). */
export const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);
/** Runs fn with autograd recording on, even inside noGrad (torch.enable_grad). */
export const enableGrad = <T>(fn: () => T): T => withGradMode(true, fn);
export const isGradEnabled = (): boolean => native.isGradEnabled();
export const setGradEnabled = (flag: boolean): boolean => native.setGradEnabled(flag);
