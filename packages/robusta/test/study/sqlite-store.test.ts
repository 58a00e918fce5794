// The store contract (store-contract.ts) on the embedded SQLite store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { storeContract } from './store-contract.js';

let n = 0;
storeContract({
  name: 'SQLite',
  fresh: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'robusta-store-'));
    const location = join(dir, `store${n++}.sqlite`);
    const raw = () => new Database(location);
    return {
      location,
      exec: async (sql) => {
        const db = raw();
        db.exec(sql);
        db.close();
      },
      query: async (sql) => {
        const db = raw();
        try {
          return db.prepare(sql).all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
