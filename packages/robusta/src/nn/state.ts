// Helpers for state dicts from elsewhere: renaming keys without copying tensors.
import type { Tensor } from '@robusta/torch';
import type { StateDict } from './module.js';

/** The same tensors under new keys; `rename` returns null to drop an entry. */
export function renameKeys(state: StateDict | Record<string, Tensor>, rename: (key: string) => string | null): StateDict {
  const out: StateDict = new Map();
  const entries = state instanceof Map ? state.entries() : Object.entries(state);
  for (const [k, t] of entries) {
    const name = rename(k);
    if (name === null) continue;
    if (out.has(name)) throw new TypeError(`renameKeys: two keys map to '${name}'`);
    out.set(name, t);
  }
  return out;
}

/**
 * Removes a prefix from every key that has it, e.g. "module." left by nn.DataParallel or "model."
 * from a wrapper; keys without it stay as they are.
 */
export function stripPrefix(state: StateDict | Record<string, Tensor>, prefix: string): StateDict {
  return renameKeys(state, (k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k));
}
