// Turns the unpickled description of a checkpoint into tensors: each storage is read once and becomes
// one CPU tensor; each TensorRef becomes an as_strided view of it, so tensors that shared a storage in
// PyTorch (views, tied weights) share it here too, exactly as torch.load rebuilds them.
import { callOp, type Tensor } from '@robusta/torch';
import { CheckpointError } from './errors.js';
import { ELEMENT_SIZE, tensorFromBytes } from './dtypes.js';
import { PickledObject, StorageRef, TensorRef } from './torch-pickle.js';

/** The most elements a view with overlapping strides may show beyond its storage's own size. */
const MAX_OVERLAPPING_VIEW = 2 ** 32;

/** Gives the bytes of a (non-view) storage: `numel × element size` of them. */
export type StorageReader = (ref: StorageRef) => Uint8Array;

export class Materialiser {
  private readonly storages = new Map<StorageRef, Tensor>();
  private readonly tensors = new Map<TensorRef, Tensor>();
  /** Every tensor this materialiser made, to free them all if loading fails. */
  private readonly made: Tensor[] = [];

  constructor(private readonly readStorage: StorageReader) {}

  storage(ref: StorageRef): Tensor {
    let t = this.storages.get(ref);
    if (t) return t;
    if (ref.viewOf) {
      const root = this.storage(ref.viewOf.root);
      if (ref.viewOf.offset + ref.numel > root.numel()) {
        throw new CheckpointError(`storage view '${ref.key}' (${ref.viewOf.offset}+${ref.numel}) exceeds storage '${ref.viewOf.root.key}' of ${root.numel()} elements`, { code: 'out-of-bounds' });
      }
      t = root.narrow(0, ref.viewOf.offset, ref.numel);
    } else {
      const bytes = this.readStorage(ref);
      const nbytes = ref.numel * ELEMENT_SIZE[ref.dtype];
      if (bytes.byteLength < nbytes) {
        throw new CheckpointError(`storage '${ref.key}' holds ${bytes.byteLength} bytes but ${ref.numel} ${ref.dtype} elements need ${nbytes}`, { code: 'truncated' });
      }
      t = tensorFromBytes(bytes.byteLength === nbytes ? bytes : bytes.subarray(0, nbytes), ref.dtype);
    }
    this.made.push(t);
    this.storages.set(ref, t);
    return t;
  }

  tensor(ref: TensorRef, honourRequiresGrad = true): Tensor {
    let t = this.tensors.get(ref);
    if (t) return t;
    const base = this.storage(ref.storage);
    const numel = base.numel();
    // The furthest element the view touches must lie in the storage (PyTorch's setStorage check,
    // done here so a forged size or stride is a CheckpointError, not a libtorch error).
    let empty = false;
    let last = ref.storageOffset;
    for (let d = 0; d < ref.size.length; d++) {
      if (ref.size[d] === 0) empty = true;
      last += (ref.size[d]! - 1) * ref.stride[d]!;
    }
    const viewNumel = ref.size.reduce((a, b) => a * b, 1);
    // Overlapping strides (expand) let a view be larger than its storage; a forged one could be
    // astronomically larger and blow up whoever copies it, so such views are capped.
    if (viewNumel > Math.max(numel, MAX_OVERLAPPING_VIEW)) {
      throw new CheckpointError(`a view of ${viewNumel} elements over a storage of ${numel} (size [${ref.size.join(', ')}], stride [${ref.stride.join(', ')}]) is not plausible`, { code: 'out-of-bounds' });
    }
    if (empty ? ref.storageOffset > numel : last >= numel) {
      throw new CheckpointError(
        `tensor of size [${ref.size.join(', ')}], stride [${ref.stride.join(', ')}] at offset ${ref.storageOffset} ` +
          `reaches past its storage '${ref.storage.key}' of ${numel} elements`,
        { code: 'out-of-bounds' },
      );
    }
    t = callOp('aten::as_strided', [base, ref.size, ref.stride, ref.storageOffset]) as Tensor;
    this.made.push(t);
    const floating = ref.storage.dtype.startsWith('float') || ref.storage.dtype === 'bfloat16';
    if (honourRequiresGrad && ref.requiresGrad && floating) t.requiresGrad_(true);
    this.tensors.set(ref, t);
    return t;
  }

  /** Frees the storage tensors that no result holds directly (their views keep the memory alive). */
  releaseStorages(kept: ReadonlySet<Tensor>): void {
    for (const t of this.storages.values()) if (!kept.has(t)) t.dispose();
  }

  /** Frees everything made so far (on failure). */
  disposeAll(): void {
    for (const t of this.made) t.dispose();
  }
}

type Convert = (v: unknown) => unknown;

function isContainer(v: unknown): v is object {
  return Array.isArray(v) || v instanceof Map || v instanceof Set || v instanceof PickledObject;
}

/**
 * Replaces every value for which `convert` returns something other than undefined, in place, in a
 * graph of arrays, Maps, Sets and PickledObjects (shared and cyclic references allowed). Iterative:
 * a maliciously deep pickle cannot overflow the call stack.
 */
export function replaceInGraph(root: unknown, convert: Convert): unknown {
  const top = convert(root);
  if (top !== undefined) return top;
  if (!isContainer(root)) return root;
  const seen = new Set<object>([root]);
  const todo: object[] = [root];
  const visit = (v: unknown): unknown => {
    const r = convert(v);
    if (r !== undefined) return r;
    if (isContainer(v) && !seen.has(v)) {
      seen.add(v);
      todo.push(v);
    }
    return v;
  };
  while (todo.length > 0) {
    const node = todo.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = visit(node[i]);
    } else if (node instanceof Map) {
      const entries = [...node];
      node.clear();
      for (const [k, v] of entries) node.set(visit(k), visit(v));
    } else if (node instanceof Set) {
      const values = [...node];
      node.clear();
      for (const v of values) node.add(visit(v));
    } else if (node instanceof PickledObject) {
      const args = node.args as unknown[];
      for (let i = 0; i < args.length; i++) args[i] = visit(args[i]);
      node.state = visit(node.state);
      todo.push(node.items, node.list);
    }
  }
  return root;
}

/** Every tensor found in a materialised graph (for disposal and bookkeeping). */
export function collectTensors(root: unknown, isTensor: (v: unknown) => v is Tensor): Set<Tensor> {
  const found = new Set<Tensor>();
  replaceInGraph(root, (v) => {
    if (isTensor(v)) found.add(v);
    return undefined;
  });
  return found;
}
