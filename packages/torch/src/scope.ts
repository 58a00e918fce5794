// Deterministic memory: tidy() scopes free every tensor created inside them except what they return
// or keep(). The GC remains a safety net for tensors nobody disposed: the addon holds a weak V8
// handle per tensor and frees it inside the GC that collects it (native/tensor.cc), with the bytes
// reported to V8 so that it collects in time; but GC timing is V8's, so long loops should use tidy.

/** What a scope can hold: a tensor (or anything that frees native memory on dispose). */
export interface Disposable {
  dispose(): void;
}

export const TRACKED: unique symbol = Symbol('robusta.tracked');
export interface Trackable extends Disposable {
  [TRACKED]: boolean; // true while a scope owns it; keep() clears it
  /**
   * Called when no scope owns it any more (keep(), or it survived the outermost tidy). A tensor arms
   * its GC safety net here: while a scope owns a tensor the scope frees it, so tensors that never
   * leave their scope (nearly all of them in a loop) skip the weak handle's cost.
   */
  leftScopes?(): void;
}

const scopes: Trackable[][] = [];

/** Called by every new tensor: the innermost open scope takes ownership. Returns whether one did. */
export function track(t: Trackable): boolean {
  const scope = scopes[scopes.length - 1];
  if (scope === undefined) return false;
  scope.push(t);
  t[TRACKED] = true;
  return true;
}

/** Exempts a tensor from disposal by the enclosing tidy() scopes; you dispose it yourself. */
export function keep<T extends Trackable>(t: T): T {
  if (t[TRACKED]) {
    t[TRACKED] = false;
    t.leftScopes?.();
  }
  return t;
}

function isTrackable(v: unknown): v is Trackable {
  return typeof v === 'object' && v !== null && TRACKED in v;
}

// Iterative (an explicit stack), so that a deeply nested value cannot overflow the call stack.
function collect(root: unknown, out: Set<Trackable>, seen: Set<unknown>): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (isTrackable(value)) out.add(value);
    else if (Array.isArray(value)) for (const v of value) pending.push(v);
    else if (value instanceof Map) for (const v of value.values()) pending.push(v);
    else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) pending.push(v);
  }
}

/**
 * Runs fn and frees every tensor created during it, except the tensors in its result (found in
 * arrays, Maps and plain objects) and those passed to keep(). Returned tensors pass to the
 * enclosing scope. fn must be synchronous: a Promise result is refused.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Trackable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) if (t[TRACKED]) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) if (t[TRACKED]) t.dispose();
    throw new TypeError('tidy() takes a synchronous function: await inside it would free tensors still in use');
  }
  const survivors = new Set<Trackable>();
  collect(result, survivors, new Set());
  for (const t of scope) {
    if (t[TRACKED] && !survivors.has(t)) t.dispose();
  }
  const parent = scopes[scopes.length - 1];
  for (const t of survivors) {
    if (!t[TRACKED]) continue;
    if (parent !== undefined) parent.push(t);
    else {
      t[TRACKED] = false;
      t.leftScopes?.();
    }
  }
  return result;
}

// How far back release() looks in the innermost scope: an intermediate is released right after the
// next op or layer consumed it, so it sits among the last few tensors the scope took.
const RELEASE_WINDOW = 16;

/**
 * Frees t now if the innermost open tidy() scope owns it (made in that scope or returned into it by a
 * nested one, not kept), i.e. what that scope would free at its end, earlier. For intermediates that
 * code knows are dead, such as a layer's output once the next layer has consumed it: Python frees such
 * a tensor at once (reference counting), and the next allocation of the same size then reuses memory
 * that is still in cache; under tidy() alone it would live until the scope ends. Autograd keeps what
 * it saved for backward (the native tensor is reference-counted), so only the handle goes.
 * Returns whether it freed t; a tensor of an outer scope, a kept one, or one made outside every
 * scope is left alone.
 */
export function release(t: Trackable): boolean {
  const scope = scopes[scopes.length - 1];
  if (scope === undefined || !t[TRACKED]) return false;
  const stop = Math.max(0, scope.length - RELEASE_WINDOW);
  for (let i = scope.length - 1; i >= stop; i--) {
    if (scope[i] !== t) continue;
    scope.splice(i, 1);
    t[TRACKED] = false;
    t.dispose();
    return true;
  }
  return false;
}

/** The tensors found in a value (a tensor, or arrays, Maps and plain objects of them). */
export function tensorsIn(value: unknown): Set<Trackable> {
  const found = new Set<Trackable>();
  collect(value, found, new Set());
  return found;
}

/** Disposes every tensor found in a value (a tensor, an array, a Map or a plain object of them). */
export function dispose(value: unknown): void {
  const found = new Set<Trackable>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}

/** The depth of open tidy() scopes (0 outside any). */
export function scopeDepth(): number {
  return scopes.length;
}
