// Opens a study store by location: a postgres:// (or postgresql://) URL opens the PostgreSQL store
// (shared by workers on many machines); anything else is a file path (SQLite, the default).
import { isPostgresUrl, PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { StudyStore } from './types.js';

export function openStore(location: string): StudyStore {
  if (isPostgresUrl(location)) return PostgresStore.open(location);
  return SqliteStore.open(location);
}

export { isPostgresUrl };
