// Where evaluation examples come from: tensors, or any dataset with batch access by indices (the
// data module's datasets); evaluations always take the first n examples, so they are comparable.
import { isFloatingDtype, keep, Tensor, tidy } from '@robusta/torch';

/** A dataset read by indices (robusta/data's Dataset has this shape). */
export interface IndexedExamples {
  readonly length: number;
  get(indices: readonly number[]): { x: Tensor; y: Tensor };
}

/** Images [N, ...] in [0, 1] with int64 labels [N], or a dataset. */
export type ExampleSource = { x: Tensor; y: Tensor } | IndexedExamples;

/** The first n examples (all when n is undefined or larger) as kept tensors the caller disposes. */
export function firstExamples(source: ExampleSource, n: number | undefined, what = 'examples'): { x: Tensor; y: Tensor } {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new RangeError(`${what}: n must be a positive integer, got ${n}`);
  let x: Tensor;
  let y: Tensor;
  if ('get' in source && typeof source.get === 'function') {
    const count = Math.min(n ?? source.length, source.length);
    if (count === 0) throw new RangeError(`${what}: the dataset is empty`);
    const b = source.get(Array.from({ length: count }, (_, i) => i));
    x = b.x;
    y = b.y;
  } else {
    const s = source as { x: Tensor; y: Tensor };
    if (!(s.x instanceof Tensor) || !(s.y instanceof Tensor)) throw new TypeError(`${what}: give {x, y} tensors or a dataset with get(indices)`);
    const total = s.x.shape[0] ?? 0;
    if (total === 0 || s.y.shape[0] !== total) {
      throw new RangeError(`${what}: x [N, ...] and y [N] must agree and be non-empty, got [${s.x.shape.join(', ')}] and [${s.y.shape.join(', ')}]`);
    }
    const count = Math.min(n ?? total, total);
    [x, y] = tidy(() => [s.x.narrow(0, 0, count).contiguous(), s.y.narrow(0, 0, count).contiguous()]);
  }
  if (!isFloatingDtype(x.dtype)) throw new TypeError(`${what}: images must be floating point in [0, 1], got ${x.dtype}`);
  if (y.dtype !== 'int64') throw new TypeError(`${what}: labels must be int64, got ${y.dtype}`);
  return { x: keep(x), y: keep(y) };
}
