// The study stores the dashboard reads: the one given with --store, and every store.sqlite found in
// the runs folder (where `robusta study run --dir runs/studies/<name>` puts them). Each is named by an
// opaque id (a hash of its real path), so no request ever carries a path to a store. Stores are only
// opened when the file exists (opening creates a missing one) and stay open until close().
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { study } from 'robusta';

export interface StoreInfo {
  id: string;
  /** For people: relative to the runs folder when inside it, else the path given. */
  label: string;
  path: string;
  /** The folder whose files the store may name (its study folder). */
  root: string;
}

const STORE_FILE = 'store.sqlite';
const SKIP = new Set(['node_modules', '.git']);

/** store.sqlite files under dir, at most `depth` folders down, skipping hidden folders. */
export function findStores(dir: string, depth = 4): string[] {
  const out: string[] = [];
  const walk = (d: string, left: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && e.name === STORE_FILE) out.push(join(d, e.name));
      else if (e.isDirectory() && left > 0 && !e.name.startsWith('.') && !SKIP.has(e.name)) walk(join(d, e.name), left - 1);
    }
  };
  walk(dir, depth);
  return out.sort();
}

export class StoreRegistry {
  private readonly open = new Map<string, study.StudyStore>();
  private cache: { at: number; stores: StoreInfo[] } | null = null;

  constructor(readonly runsRoot: string, readonly explicit: string[] = []) {}

  /** The stores known now (rescanned at most every 2 s). */
  list(): StoreInfo[] {
    if (this.cache && Date.now() - this.cache.at < 2000) return this.cache.stores;
    const paths = [...this.explicit.filter((p) => existsSync(p)), ...findStores(this.runsRoot)];
    const runsReal = existsSync(this.runsRoot) ? realpathSync(this.runsRoot) : resolve(this.runsRoot);
    const seen = new Set<string>();
    const stores: StoreInfo[] = [];
    for (const p of paths) {
      let real: string;
      try {
        real = realpathSync(p);
        if (!statSync(real).isFile()) continue;
      } catch {
        continue;
      }
      if (seen.has(real)) continue;
      seen.add(real);
      const rel = relative(runsReal, real);
      const inside = !rel.startsWith('..') && rel !== '';
      stores.push({ id: storeId(real), label: inside ? rel : p, path: real, root: dirname(real) });
    }
    this.cache = { at: Date.now(), stores };
    return stores;
  }

  info(id: string): StoreInfo | undefined {
    return this.list().find((s) => s.id === id);
  }

  /** The opened store (kept open for later requests). */
  get(id: string): { info: StoreInfo; store: study.StudyStore } | undefined {
    const info = this.info(id);
    if (!info) return undefined;
    let store = this.open.get(id);
    if (!store) {
      store = study.openStore(info.path);
      this.open.set(id, store);
    }
    return { info, store };
  }

  async close(): Promise<void> {
    for (const s of this.open.values()) await s.close();
    this.open.clear();
  }
}

export function storeId(realPath: string): string {
  return createHash('sha256').update(realPath).digest('hex').slice(0, 12);
}
