// Argument checks shared by the layers: bad sizes fail at construction with a clear message.

export type Pair = number | readonly [number, number];

export function checkInt(what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`${what} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

/** A number or [h, w] as [h, w], each an integer >= min. */
export function checkPair(what: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Array.isArray(v) && typeof v !== 'number' || p.length !== 2) throw new TypeError(`${what} must be a number or [h, w]`);
  checkInt(what, p[0], min);
  checkInt(what, p[1], min);
  return p;
}

export function checkProbability(what: string, p: number): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${what} must be in [0, 1], got ${String(p)}`);
  return p;
}

export const formatPair = (p: readonly [number, number]): string => `(${p[0]}, ${p[1]})`;
