// Loop bookkeeping for manual memory: each iteration runs in its own tidy() scope and the tensors of
// the previous state that the new state does not reuse are freed at once.
import { tensorsIn, tidy } from '@robusta/torch';

/**
 * Runs one iteration `fn` inside tidy() (its temporaries die with it) and disposes every tensor of
 * `previous` absent from the new state. The new state's tensors pass to the enclosing scope.
 */
export function advance<S>(previous: S, fn: () => S): S {
  const next = tidy(fn);
  const kept = tensorsIn(next);
  for (const t of tensorsIn(previous)) if (!kept.has(t)) t.dispose();
  return next;
}

