// A chain of modules applied in order, as torch.nn.Sequential: children are named "0", "1", ...
// (so state-dict keys read "0.weight", "3.bias"), or given names (Sequential(OrderedDict) in PyTorch).
import { type Tensor, tidy } from '@robusta/torch';
import { chain } from './chain.js';
import { Module } from './module.js';

export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    for (const layer of layers) this.append(layer);
  }

  /** A Sequential whose children have the given names, in order. */
  static fromEntries(entries: Iterable<readonly [string, Module]>): Sequential {
    const s = new Sequential();
    for (const [name, m] of entries) s.registerModule(name, m);
    return s;
  }

  /** Adds a module at the end, named by its position (PyTorch's append). */
  append(layer: Module): this {
    this.registerModule(String(this.length), layer);
    return this;
  }

  get length(): number {
    return this.children().length;
  }

  /** The i-th child (negative counts from the end). */
  at(i: number): Module {
    const list = this.children();
    const m = list[i < 0 ? list.length + i : i];
    if (m === undefined) throw new RangeError(`index ${i} out of range for a Sequential of ${list.length}`);
    return m;
  }

  /**
   * Applies the children in order. Each intermediate result is freed as soon as the next layer (and
   * its forward hooks) consumed it, as Python's reference counting frees it: the next layer's output
   * then reuses memory still in cache (see chain.ts). A hook that wants a layer's output past that
   * point keep()s it.
   */
  forward(x: Tensor): Tensor {
    return tidy(() => chain(x, ...this.children()));
  }
}
