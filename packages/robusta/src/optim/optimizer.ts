// The base of the optimizers, as torch.optim.Optimizer: parameter groups with their own
// hyperparameters, per-parameter state, zeroGrad, and state dicts that resume bit-identically.
import { isFloatingDtype, keep, noGrad, type Tensor, tidy } from '@robusta/torch';

/** Per-parameter state: tensors (moments, momentum buffers) and numbers (step counts). */
export type ParamState = Record<string, Tensor | number>;

/**
 * A parameter group: its tensors and hyperparameters. Schedulers write `lr` (and `initialLr`,
 * `momentum`, `betas`, ... ) here, exactly as PyTorch's schedulers write param_groups.
 */
export type ParamGroup<O> = O & { params: Tensor[]; [extra: string]: unknown };

/** A group as given to the constructor: tensors plus any hyperparameter overriding the defaults. */
export type ParamGroupSpec<O> = Partial<O> & { params: Iterable<Tensor> };

/** What an optimizer's state looks like outside it (PyTorch's optimizer.state_dict() layout). */
export interface OptimizerStateDict {
  /** Per-parameter state by the parameter's index across all groups (tensors are copies the caller owns). */
  state: Record<number, ParamState>;
  /** Hyperparameters of each group with `params` listing the indices of its parameters. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

export interface BaseOptimizerOptions {
  lr: number;
}

/** Deep-copies plain hyperparameter values (numbers, arrays such as betas), never tensors. */
function copyValue(v: unknown): unknown {
  return Array.isArray(v) ? v.map(copyValue) : v;
}

export abstract class Optimizer<O extends BaseOptimizerOptions = BaseOptimizerOptions> {
  readonly defaults: O;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** State by parameter tensor, created on a parameter's first update. */
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<O>>, defaults: O) {
    this.defaults = defaults;
    const list = [...(params as Iterable<Tensor | ParamGroupSpec<O>>)];
    if (list.length === 0) throw new RangeError('optimizer got an empty parameter list');
    const isGroup = (v: unknown): v is ParamGroupSpec<O> => typeof v === 'object' && v !== null && 'params' in v;
    if (list.every(isGroup)) for (const g of list) this.addParamGroup(g);
    else if (list.some(isGroup)) throw new TypeError('give either tensors or parameter groups ({params, ...}), not both');
    else this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupSpec<O>);
  }

  /** Adds a group; hyperparameters it leaves out come from the defaults. */
  addParamGroup(spec: ParamGroupSpec<O>): void {
    const params = [...spec.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of params) {
      if (!p.isLeaf) throw new TypeError("can't optimize a non-leaf Tensor");
      if (!isFloatingDtype(p.dtype)) throw new TypeError(`can't optimize a ${p.dtype} tensor`);
      if (seen.has(p)) throw new TypeError('some parameters appear in more than one parameter group');
      seen.add(p);
    }
    const group: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.defaults)) group[k] = copyValue(v);
    for (const [k, v] of Object.entries(spec)) if (k !== 'params' && v !== undefined) group[k] = copyValue(v);
    group.params = params;
    this.validateGroup(group as ParamGroup<O>);
    this.paramGroups.push(group as ParamGroup<O>);
  }

  /** Checks a group's hyperparameters (RangeError on bad values). */
  protected validateGroup(group: ParamGroup<O>): void {
    if (!(typeof group.lr === 'number' && group.lr >= 0)) throw new RangeError(`invalid learning rate: ${String(group.lr)}`);
  }

  /** Updates one parameter that has a gradient; runs without autograd inside a tidy scope per parameter. */
  protected abstract updateParameter(p: Tensor, grad: Tensor, group: ParamGroup<O>, state: ParamState): void;

  /** One optimisation step over every parameter with a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        this.validateGroup(group);
        for (const p of group.params) {
          tidy(() => {
            const grad = p.grad;
            if (grad === null) return;
            let state = this.state.get(p);
            if (state === undefined) {
              state = {};
              this.state.set(p, state);
            }
            this.updateParameter(p, grad, group, state);
          });
        }
      }
    });
  }

  /** Clears the gradients of every optimised parameter: drops them (default) or zero-fills them. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
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
  }

  /** The state of one parameter (live tensors: do not dispose), or undefined before its first step. */
  stateOf(p: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(p);
  }

  /**
   * A snapshot of the optimizer: per-parameter state (cloned tensors the caller owns) and the
   * groups' hyperparameters, parameters referred to by index as in PyTorch.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      const ids = params.map((p) => {
        const i = index.size;
        index.set(p, i);
        return i;
      });
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(hyper)) copy[k] = copyValue(v);
      return { ...copy, params: ids };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const out: ParamState = {};
      for (const [k, v] of Object.entries(s)) out[k] = typeof v === 'number' ? v : keep(v.detach().clone());
      state[i] = out;
    }
    return { state, paramGroups };
  }

  /**
   * Restores a snapshot: the same number of groups with the same sizes. State tensors are copied
   * onto each parameter's device (floating ones cast to its dtype); hyperparameters are replaced.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`loaded state dict has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const params: Tensor[] = [];
    sd.paramGroups.forEach((g, i) => {
      const mine = this.paramGroups[i]!;
      if (g.params.length !== mine.params.length) {
        throw new RangeError(`loaded parameter group ${i} has ${g.params.length} parameters, the optimizer's has ${mine.params.length}`);
      }
      g.params.forEach((id, j) => (params[id] = mine.params[j]!));
    });
    const next = new Map<Tensor, ParamState>();
    noGrad(() => {
      for (const [key, s] of Object.entries(sd.state)) {
        const p = params[Number(key)];
        if (p === undefined) throw new RangeError(`loaded state refers to parameter ${key}, which no group lists`);
        const restored: ParamState = {};
        for (const [k, v] of Object.entries(s)) {
          if (typeof v === 'number') restored[k] = v;
          else {
            const onDevice = isFloatingDtype(v.dtype) ? v.to({ dtype: p.dtype, device: p.device, copy: true }) : v.to({ device: p.device, copy: true });
            restored[k] = keep(onDevice);
          }
        }
        next.set(p, restored);
      }
    });
    this.disposeState();
    for (const [p, s] of next) this.state.set(p, s);
    sd.paramGroups.forEach((g, i) => {
      const mine = this.paramGroups[i]! as Record<string, unknown>;
      for (const [k, v] of Object.entries(g)) if (k !== 'params') mine[k] = copyValue(v);
    });
  }

  /** Frees the state tensors (the optimizer starts afresh on the next step). */
  disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state; the parameters belong to the model. */
  dispose(): void {
    this.disposeState();
  }
}
