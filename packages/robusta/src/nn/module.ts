// The base class of every layer and model, as torch.nn.Module: parameters, buffers and child
// modules by name in registration order, train/eval mode, device and dtype moves, and state dicts
// whose keys are exactly PyTorch's ("layer1.0.bn1.running_mean"), so checkpoints interoperate.
//
// Memory: parameters and buffers are long-lived native tensors. Registration keep()s them, so a
// module built inside tidy() survives it; module.dispose() frees them. Accessors return the live
// tensors: read them, never dispose them.
import { type Device, type DType, isFloatingDtype, keep, noGrad, type Tensor, tidy } from '@robusta/torch';
import { StateDictError, type SizeMismatch } from './errors.js';

/** Parameters and persistent buffers by dotted name, in PyTorch's order. */
export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /** Missing or unexpected keys raise a StateDictError (default true). Shape mismatches always do. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface BufferOptions {
  /** Whether the buffer belongs to the state dict (default true), as register_buffer(persistent=...). */
  persistent?: boolean;
}

/**
 * Called after a module's forward with its input and output (feature extraction, statistics). The
 * output belongs to the enclosing forward's tidy scope: keep() it (and dispose it later) to hold it.
 */
export type ForwardHook = (module: Module, input: Tensor, output: Tensor) => void;

interface StateEntry {
  key: string;
  owner: Module;
  local: string;
  tensor: Tensor;
  persistent: boolean;
}

function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
    throw new TypeError(`${what} name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
  }
}

const isDevice = (t: string): boolean => t === 'cpu' || t === 'cuda' || t.startsWith('cuda:');
/** Whether a tensor on `have` is already where `want` asks ('cuda' accepts any CUDA device). */
const sameDevice = (have: string, want: string): boolean => have === want || (want === 'cuda' && have.startsWith('cuda'));
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export abstract class Module {
  #training = true;
  readonly #parameters = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor | null>();
  readonly #nonPersistent = new Set<string>();
  readonly #children = new Map<string, Module>();
  readonly #hooks: ForwardHook[] = [];

  /** The computation. Call modules through call() so that forward hooks run. */
  abstract forward(x: Tensor): Tensor;

  /** Runs forward and then the forward hooks (PyTorch's module(x)). */
  call(x: Tensor): Tensor {
    const y = this.forward(x);
    for (const hook of this.#hooks) hook(this, x, y);
    return y;
  }

  /** Adds a hook run after every forward; returns a function that removes it. */
  registerForwardHook(hook: ForwardHook): () => void {
    this.#hooks.push(hook);
    return () => {
      const i = this.#hooks.indexOf(hook);
      if (i >= 0) this.#hooks.splice(i, 1);
    };
  }

  // ---- mode -----------------------------------------------------------------------------------
  get training(): boolean {
    return this.#training;
  }
  /** Sets training mode here and in every descendant (BatchNorm batch statistics, Dropout). */
  train(mode = true): this {
    this.#training = mode;
    for (const child of this.#children.values()) child.train(mode);
    return this;
  }
  /** train(false). */
  eval(): this {
    return this.train(false);
  }

  // ---- registration ---------------------------------------------------------------------------
  #checkFree(name: string, what: string): void {
    checkName(name, what);
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new TypeError(`${this.constructor.name} already has a member named '${name}'`);
    }
  }

  /**
   * Registers a learnable tensor (or null for an absent one, like a conv without bias). The tensor
   * must be a leaf; it is kept (survives tidy) and set to require grad when floating point.
   */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.#checkFree(name, 'parameter');
    this.#parameters.set(name, t === null ? null : this.#adoptParameter(t, name));
    return t;
  }
  #adoptParameter(t: Tensor, name: string): Tensor {
    if (!t.isLeaf) throw new TypeError(`parameter '${name}' must be a leaf tensor (pass x.detach())`);
    keep(t);
    if (isFloatingDtype(t.dtype) && !t.requiresGrad) t.requiresGrad_(true);
    return t;
  }

  /** Registers a tensor of state that is not learned (running statistics, constants). */
  protected registerBuffer(name: string, t: Tensor | null, o: BufferOptions = {}): Tensor | null {
    this.#checkFree(name, 'buffer');
    this.#buffers.set(name, t === null ? null : keep(t));
    if (o.persistent === false) this.#nonPersistent.add(name);
    return t;
  }

  /** Registers a child module; its members appear under `name.` in names and state dicts. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.#checkFree(name, 'module');
    if (!(module instanceof Module)) throw new TypeError(`registerModule('${name}'): expected a Module`);
    this.#children.set(name, module);
    return module;
  }

  /** Replaces a registered parameter; the previous tensor is disposed. */
  setParameter(name: string, t: Tensor | null): void {
    if (!this.#parameters.has(name)) throw new TypeError(`${this.constructor.name} has no parameter '${name}'`);
    const old = this.#parameters.get(name);
    this.#parameters.set(name, t === null ? null : this.#adoptParameter(t, name));
    if (old && old !== t) old.dispose();
  }

  /** Replaces a registered buffer; the previous tensor is disposed. */
  setBuffer(name: string, t: Tensor | null): void {
    if (!this.#buffers.has(name)) throw new TypeError(`${this.constructor.name} has no buffer '${name}'`);
    const old = this.#buffers.get(name);
    this.#buffers.set(name, t === null ? null : keep(t));
    if (old && old !== t) old.dispose();
  }

  // ---- access ---------------------------------------------------------------------------------
  /** A registered parameter (null when registered as absent); throws if there is none by that name. */
  getParameter(name: string): Tensor | null {
    const t = this.#parameters.get(name);
    if (t === undefined) throw new TypeError(`${this.constructor.name} has no parameter '${name}'`);
    return t;
  }
  getBuffer(name: string): Tensor | null {
    const t = this.#buffers.get(name);
    if (t === undefined) throw new TypeError(`${this.constructor.name} has no buffer '${name}'`);
    return t;
  }
  /** A direct child by name, or undefined. */
  getChild(name: string): Module | undefined {
    return this.#children.get(name);
  }
  /** A descendant by dotted path ("layer1.0.bn1"), as get_submodule. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = m.#children.get(part);
      if (next === undefined) throw new TypeError(`${m.constructor.name} has no submodule '${part}' (in path '${path}')`);
      m = next;
    }
    return m;
  }
  /** A parameter that must be present (for layers reading their own weights). */
  protected param(name: string): Tensor {
    const t = this.getParameter(name);
    if (t === null) throw new TypeError(`${this.constructor.name}.${name} is absent`);
    return t;
  }
  protected buffer(name: string): Tensor {
    const t = this.getBuffer(name);
    if (t === null) throw new TypeError(`${this.constructor.name}.${name} is absent`);
    return t;
  }

  // ---- iteration ------------------------------------------------------------------------------
  namedChildren(): [string, Module][] {
    return [...this.#children.entries()];
  }
  children(): Module[] {
    return [...this.#children.values()];
  }
  /** This module and every descendant, depth first in registration order, each once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [name, child] of m.#children) visit(child, p === '' ? name : `${p}.${name}`);
    };
    visit(this, prefix);
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }
  /** Every parameter with its dotted name, each tensor once (shared weights appear under their first name). */
  namedParameters(): [string, Tensor][] {
    return this.#namedMembers((m) => m.#parameters);
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  /** Every buffer (persistent or not) with its dotted name. */
  namedBuffers(): [string, Tensor][] {
    return this.#namedMembers((m) => m.#buffers);
  }
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }
  #namedMembers(pick: (m: Module) => Map<string, Tensor | null>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of pick(m)) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([prefix === '' ? name : `${prefix}.${name}`, t]);
      }
    }
    return out;
  }
  /** The number of scalar parameters (each shared tensor counted once). */
  numParameters(o: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!o.trainableOnly || p.requiresGrad) n += p.numel();
    return n;
  }
  /** Calls fn on every descendant and then on this module (post-order, as Module.apply). */
  apply(fn: (m: Module) => void): this {
    for (const child of this.#children.values()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- gradients ------------------------------------------------------------------------------
  /** Clears parameter gradients: drops them (default) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone) {
        p.grad = null;
        continue;
      }
      const g = p.grad;
      if (g === null) continue;
      noGrad(() => g.zero_());
      g.dispose();
    }
  }
  /** Switches gradient recording of every parameter on or off (freezing a model). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  // ---- devices and dtypes ---------------------------------------------------------------------
  /**
   * Moves every parameter and buffer to a device ('cpu', 'cuda', 'cuda:1'), or casts the floating
   * point ones to a dtype (integer buffers such as num_batches_tracked stay). Tensors are replaced,
   * gradients dropped: create optimizers after moving the model, as in PyTorch.
   */
  to(target: Device | DType): this {
    const device = isDevice(target);
    const moved = new Map<Tensor, Tensor>();
    const convert = (t: Tensor, isParam: boolean): Tensor => {
      const done = moved.get(t);
      if (done) return done;
      if (device ? sameDevice(t.device, target) : !isFloatingDtype(t.dtype) || t.dtype === target) return t;
      const requiresGrad = t.requiresGrad;
      const c = keep(t.to(target));
      if (isParam) c.requiresGrad_(requiresGrad);
      moved.set(t, c);
      return c;
    };
    noGrad(() => {
      for (const m of this.modules()) {
        for (const [name, t] of m.#parameters) if (t !== null) m.#parameters.set(name, convert(t, true));
        for (const [name, t] of m.#buffers) if (t !== null) m.#buffers.set(name, convert(t, false));
      }
    });
    for (const [old, c] of moved) if (old !== c) old.dispose();
    return this;
  }
  /** The device of the first parameter or buffer ('cpu' for a module without tensors). */
  get device(): Device {
    const t = this.parameters()[0] ?? this.buffers()[0];
    return t === undefined ? 'cpu' : t.device;
  }

  // ---- state dicts ----------------------------------------------------------------------------
  #stateEntries(): StateEntry[] {
    const out: StateEntry[] = [];
    // PyTorch's order: a module's parameters, then its buffers, then each child's entries.
    const visit = (m: Module, prefix: string): void => {
      for (const [name, t] of m.#parameters) {
        if (t !== null) out.push({ key: prefix + name, owner: m, local: name, tensor: t, persistent: true });
      }
      for (const [name, t] of m.#buffers) {
        if (t !== null) out.push({ key: prefix + name, owner: m, local: name, tensor: t, persistent: !m.#nonPersistent.has(name) });
      }
      for (const [name, child] of m.#children) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * The parameters and persistent buffers by key, exactly as PyTorch's state_dict() names them.
   * Values are detached tensors sharing storage with the module's (like PyTorch's): new handles the
   * caller owns — dispose them (torch.dispose(map)) or call this inside tidy().
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const e of this.#stateEntries()) if (e.persistent) out.set(e.key, e.tensor.detach());
    return out;
  }

  /** The state dict's keys and shapes, without creating tensors. */
  stateDictShapes(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const e of this.#stateEntries()) if (e.persistent) out.set(e.key, e.tensor.shape);
    return out;
  }

  /**
   * Whether a missing persistent state entry may be tolerated (BatchNorm's num_batches_tracked,
   * absent from checkpoints of old PyTorch versions: it is then zeroed, as PyTorch does).
   */
  protected isOptionalState(_localName: string): boolean {
    return false;
  }

  /**
   * Copies tensors into the parameters and buffers (values cast to their dtype and device). All
   * checks run before any copy, so a failed load changes nothing. Shape mismatches always throw;
   * missing and unexpected keys throw in strict mode and are returned otherwise. Keys of
   * non-persistent buffers (e.g. Normalize's mean/std saved by other tools) are accepted and loaded
   * when present, matching by element count.
   */
  loadStateDict(state: StateDict | Record<string, Tensor>, o: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = o.strict ?? true;
    const source: Map<string, Tensor> = state instanceof Map ? state : new Map(Object.entries(state));
    const used = new Set<string>();
    const missingKeys: string[] = [];
    const sizeMismatches: SizeMismatch[] = [];
    const copies: [Tensor, Tensor][] = [];
    const zeroed: Tensor[] = [];
    for (const e of this.#stateEntries()) {
      const src = source.get(e.key);
      if (src === undefined) {
        if (!e.persistent) continue;
        if (e.owner.isOptionalState(e.local)) zeroed.push(e.tensor);
        else missingKeys.push(e.key);
        continue;
      }
      used.add(e.key);
      const fits = e.persistent ? sameShape(src.shape, e.tensor.shape) : src.numel() === e.tensor.numel();
      if (!fits) sizeMismatches.push({ key: e.key, checkpoint: src.shape, model: e.tensor.shape });
      else copies.push([e.tensor, src]);
    }
    const unexpectedKeys = [...source.keys()].filter((k) => !used.has(k));
    if (sizeMismatches.length > 0 || (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0))) {
      throw new StateDictError(this.constructor.name, missingKeys, unexpectedKeys, sizeMismatches);
    }
    noGrad(() => tidy(() => {
      for (const [dst, src] of copies) dst.copy_(sameShape(src.shape, dst.shape) ? src : src.reshape(dst.shape));
      for (const t of zeroed) t.zero_();
    }));
    return { missingKeys, unexpectedKeys };
  }

  // ---- memory ---------------------------------------------------------------------------------
  /** Frees every parameter and buffer of this module and its descendants. The module is unusable after. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m.#parameters.values()) t?.dispose();
      for (const t of m.#buffers.values()) t?.dispose();
    }
  }

  // ---- printing -------------------------------------------------------------------------------
  /** The constructor arguments shown by toString(), as PyTorch's extra_repr. */
  protected extraRepr(): string {
    return '';
  }
  /** A tree like PyTorch's print(model). */
  toString(): string {
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (this.#children.size === 0) return `${head})`;
    const lines = [...this.#children].map(([name, child]) => `  (${name}): ${child.toString().replace(/\n/g, '\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}
