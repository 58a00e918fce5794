// Opens a study store by location: a file path (SQLite, the default).
import { SqliteStore } from './sqlite.js';
import { StoreError, type StudyStore } from './types.js';

export function openStore(location: string): StudyStore {
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new StoreError('PostgreSQL stores are not available in this version of robusta: use a SQLite file path');
  }
  return SqliteStore.open(location);
}
