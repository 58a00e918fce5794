// The 1000 ImageNet-1k class names in index order (as torchvision lists them), shipped with the
// package in assets/imagenet-classes.json (made by scripts/make-imagenet-classes.py).
import { readFileSync } from 'node:fs';

let cache: readonly string[] | undefined;

export function imagenetClasses(): readonly string[] {
  if (!cache) {
    const names = JSON.parse(readFileSync(new URL('../../../assets/imagenet-classes.json', import.meta.url), 'utf8')) as string[];
    if (!Array.isArray(names) || names.length !== 1000) throw new Error('assets/imagenet-classes.json must list 1000 class names');
    cache = Object.freeze(names);
  }
  return cache;
}

/** A class index from an index ("404") or a name ("airliner", case-insensitive); RangeError otherwise. */
export function classIndex(spec: string | number, classes: readonly string[]): number {
  const asNumber = typeof spec === 'number' ? spec : /^\d+$/.test(spec.trim()) ? Number(spec) : NaN;
  if (!Number.isNaN(asNumber)) {
    if (!Number.isInteger(asNumber) || asNumber < 0 || asNumber >= classes.length) {
      throw new RangeError(`class index ${spec} is out of range 0..${classes.length - 1}`);
    }
    return asNumber;
  }
  const wanted = String(spec).trim().toLowerCase();
  const i = classes.findIndex((c) => c.toLowerCase() === wanted);
  if (i >= 0) return i;
  const partial = classes.map((c, k) => [c, k] as const).filter(([c]) => c.toLowerCase().includes(wanted));
  if (partial.length === 1) return partial[0]![1];
  const hint = partial.length > 1 ? ` (matches: ${partial.slice(0, 5).map(([c]) => c).join(', ')}${partial.length > 5 ? ', ...' : ''})` : '';
  throw new RangeError(`unknown class '${spec}'${hint}`);
}
