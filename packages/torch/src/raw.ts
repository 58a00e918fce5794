// The escape hatch: any ATen operator by its schema name, for what the typed API does not cover.
import { native, op } from './native.js';
import { Tensor, wrap } from './tensor.js';

type Raw = unknown;
function toNative(v: unknown): unknown {
  if (v instanceof Tensor) return v.handle;
  if (Array.isArray(v)) return v.map(toNative);
  return v;
}

/**
 * Calls an ATen operator through the dispatcher, e.g. callOp('aten::hardtanh', [x, -1, 1]).
 * `returns` says how to read the result: 'tensor', 'tensors' (a tuple or list), or 'value'
 * (a number, boolean or nothing). See the operator's schema with callOp.schema(name).
 */
export function callOp(name: string, args: unknown[], returns: 'tensor' | 'tensors' | 'value' = 'tensor'): Raw {
  const r = native.call(op(name).handle, ...args.map(toNative));
  if (returns === 'tensor') return wrap(r as number);
  if (returns === 'tensors') return (r as number[]).map(wrap);
  return r;
}
callOp.schema = (name: string): string => op(name).schema();
