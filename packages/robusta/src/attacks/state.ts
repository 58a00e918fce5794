// Loop bookkeeping for manual memory: each iteration runs in its own tidy() scope and the tensors of
// the previous state that the new state does not reuse are freed at once.
import { Tensor, tidy } from '@robusta/torch';

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

/**
 * Runs one iteration `fn` inside tidy() (its temporaries die with it) and disposes every tensor of
 * `previous` absent from the new state. The new state's tensors pass to the enclosing scope.
 */
export function advance<S>(previous: S, fn: () => S): S {
  const next = tidy(fn);
  const kept = new Set<Tensor>();
  collectTensors(next, kept);
  const old = new Set<Tensor>();
  collectTensors(previous, old);
  for (const t of old) if (!kept.has(t)) t.dispose();
  return next;
}

/** Disposes every tensor in a state object (arrays and plain objects are searched). */
export function disposeState(state: unknown): void {
  const all = new Set<Tensor>();
  collectTensors(state, all);
  for (const t of all) t.dispose();
}
