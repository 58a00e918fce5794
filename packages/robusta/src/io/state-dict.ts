// Finding the state_dict inside a checkpoint as people actually save them: bare, nested under a key
// ({'epoch': 3, 'state_dict': ...}), wrapped by DataParallel ('module.' prefixes) or torch.compile
// ('_orig_mod.'), or as a whole pickled nn.Module (read as inert PickledObjects).
import { CheckpointError } from './errors.js';
import { PickledObject } from './torch-pickle.js';

/** Keys that hold a model's weights in common training scripts, in order of preference. */
export const STATE_DICT_KEYS: readonly string[] = [
  'state_dict', 'model_state_dict', 'model', 'net', 'network', 'module', 'model_state', 'ema', 'model_ema',
  'state_dict_ema', 'ema_state_dict', 'params', 'weights',
];

/** Prefixes removed when every key carries them: DataParallel/DistributedDataParallel, torch.compile. */
export const DEFAULT_STRIP_PREFIXES: readonly string[] = ['module.', '_orig_mod.'];

export interface FindStateDictOptions {
  /** Where the state dict is: a key of the top-level dict, or a path of keys for nested dicts. */
  key?: string | readonly string[];
  /** Prefixes to remove when all keys share them (default DEFAULT_STRIP_PREFIXES; [] keeps keys as saved). */
  stripPrefixes?: readonly string[];
}

const MAX_SEARCH_DEPTH = 4;

function keysOf(v: unknown): string[] {
  if (v instanceof Map) return [...v.keys()].map(String);
  if (v instanceof PickledObject) return [...(v.attributes?.keys() ?? [])].map(String);
  return [];
}

function describe(v: unknown, isTensor: (v: unknown) => boolean): string {
  if (isTensor(v)) return 'a single tensor, not a dict of them';
  if (v instanceof Map) return `a dict with keys [${keysOf(v).slice(0, 12).map((k) => `'${k}'`).join(', ')}${v.size > 12 ? ', ...' : ''}]`;
  if (v instanceof PickledObject) return `a pickled ${v.className}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return v === null ? 'None' : typeof v;
}

function isModule(v: unknown): v is PickledObject {
  const a = v instanceof PickledObject ? v.attributes : undefined;
  return a !== undefined && (a.get('_parameters') instanceof Map || a.get('_modules') instanceof Map);
}

/** The (name, tensor) pairs of a pickled nn.Module tree, in state_dict order (own params, buffers, then children). */
function moduleEntries<T>(root: PickledObject, isTensor: (v: unknown) => v is T): [string, T][] {
  const out: [string, T][] = [];
  const todo: [PickledObject, string][] = [[root, '']];
  const seen = new Set<PickledObject>();
  while (todo.length > 0) {
    const [mod, prefix] = todo.pop()!;
    if (seen.has(mod)) continue;
    seen.add(mod);
    const attrs = mod.attributes!;
    const params = attrs.get('_parameters');
    if (params instanceof Map) for (const [k, v] of params) if (isTensor(v)) out.push([prefix + String(k), v]);
    const buffers = attrs.get('_buffers');
    const skip = attrs.get('_non_persistent_buffers_set');
    if (buffers instanceof Map) {
      for (const [k, v] of buffers) if (isTensor(v) && !(skip instanceof Set && skip.has(k))) out.push([prefix + String(k), v]);
    }
    const children = attrs.get('_modules');
    if (children instanceof Map) {
      const list = [...children].filter(([, m]) => isModule(m)) as [unknown, PickledObject][];
      for (let i = list.length - 1; i >= 0; i--) todo.push([list[i]![1], `${prefix}${String(list[i]![0])}.`]);
    }
  }
  return out;
}

/** The tensor entries of a candidate container, or undefined when it holds none. */
function tensorEntries<T>(v: unknown, isTensor: (v: unknown) => v is T): [string, T][] | undefined {
  let out: [string, T][] = [];
  if (v instanceof Map) {
    for (const [k, x] of v) if (isTensor(x)) out.push([String(k), x]);
  } else if (isModule(v)) {
    out = moduleEntries(v, isTensor);
  } else if (v instanceof PickledObject && v.items.size > 0) {
    for (const [k, x] of v.items) if (isTensor(x)) out.push([String(k), x]); // an OrderedDict subclass
  }
  return out.length > 0 ? out : undefined;
}

function child(v: unknown, key: string): unknown {
  if (v instanceof Map) {
    if (v.has(key)) return v.get(key);
    for (const [k, x] of v) if (String(k) === key) return x;
    return undefined;
  }
  if (v instanceof PickledObject) return v.attributes?.get(key);
  return undefined;
}

function search<T>(v: unknown, isTensor: (v: unknown) => v is T, depth: number): { entries: [string, T][]; path: string[] } | undefined {
  if (depth > MAX_SEARCH_DEPTH) return undefined;
  if (v instanceof Map) {
    for (const k of STATE_DICT_KEYS) {
      const c = child(v, k);
      if (c === undefined) continue;
      const found = search(c, isTensor, depth + 1);
      if (found) return { entries: found.entries, path: [k, ...found.path] };
    }
  }
  const own = tensorEntries(v, isTensor);
  if (own) return { entries: own, path: [] };
  if (!(v instanceof Map)) return undefined;
  // No preferred key and no tensors here: accept a single nested candidate, refuse to guess among several.
  const candidates: { key: string; entries: [string, T][]; path: string[] }[] = [];
  for (const [k, c] of v) {
    if (!(c instanceof Map) && !(c instanceof PickledObject)) continue;
    const found = search(c, isTensor, depth + 1);
    if (found) candidates.push({ key: String(k), ...found });
  }
  if (candidates.length === 1) return { entries: candidates[0]!.entries, path: [candidates[0]!.key, ...candidates[0]!.path] };
  if (candidates.length > 1) {
    throw new CheckpointError(
      `the checkpoint holds several sets of tensors (under ${candidates.map((c) => `'${c.key}'`).join(', ')}): pass { key } to choose one`,
      { code: 'no-state-dict' },
    );
  }
  return undefined;
}

/** Removes each prefix while every key carries it. */
export function stripCommonPrefixes<T>(entries: [string, T][], prefixes: readonly string[]): [string, T][] {
  let out = entries;
  for (let changed = true; changed && out.length > 0;) {
    changed = false;
    for (const p of prefixes) {
      if (p.length > 0 && out.every(([k]) => k.startsWith(p))) {
        out = out.map(([k, v]) => [k.slice(p.length), v]);
        changed = true;
      }
    }
  }
  return out;
}

/**
 * The state dict inside an unpickled checkpoint: the (name, tensor) pairs in saved order, non-tensor
 * entries dropped, common prefixes stripped. `isTensor` says what counts as a tensor.
 */
export function findStateDict<T>(root: unknown, isTensor: (v: unknown) => v is T, options: FindStateDictOptions = {}): [string, T][] {
  let entries: [string, T][] | undefined;
  if (options.key !== undefined) {
    const path = typeof options.key === 'string' ? [options.key] : [...options.key];
    let v = root;
    for (let i = 0; i < path.length; i++) {
      const next = child(v, path[i]!);
      if (next === undefined) {
        const where = i === 0 ? 'the checkpoint' : `'${path.slice(0, i).join('.')}'`;
        throw new CheckpointError(`${where} has no key '${path[i]}' (it is ${describe(v, isTensor)})`, { code: 'no-state-dict' });
      }
      v = next;
    }
    entries = tensorEntries(v, isTensor);
    if (!entries) throw new CheckpointError(`'${path.join('.')}' holds no tensors (it is ${describe(v, isTensor)})`, { code: 'no-state-dict' });
  } else {
    entries = search(root, isTensor, 0)?.entries;
    if (!entries) {
      throw new CheckpointError(`found no state dict in the checkpoint (it is ${describe(root, isTensor)}); pass { key } to say where it is`, { code: 'no-state-dict' });
    }
  }
  return stripCommonPrefixes(entries, options.stripPrefixes ?? DEFAULT_STRIP_PREFIXES);
}
