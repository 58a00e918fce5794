// The store's schema, as numbered migrations applied in order (each in one transaction); the same
// SQL runs on SQLite and PostgreSQL (text JSON, double precision, bigint epoch milliseconds).
export const MIGRATIONS: readonly { version: number; description: string; sql: string }[] = [
  {
    version: 1,
    description: 'studies, runs with leases, epochs, measurements, artifacts',
    sql: `
CREATE TABLE studies (
  name TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  kind TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  plan TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE runs (
  study TEXT NOT NULL REFERENCES studies(name),
  id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  stage TEXT,
  worker TEXT,
  lease_until BIGINT,
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  started_at TEXT,
  finished_at TEXT,
  train_seconds DOUBLE PRECISION,
  measure_seconds DOUBLE PRECISION,
  active INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (study, id)
);
CREATE INDEX runs_claim ON runs (study, active, status, idx);
CREATE TABLE epochs (
  study TEXT NOT NULL,
  run_id TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  metrics TEXT NOT NULL,
  PRIMARY KEY (study, run_id, epoch)
);
CREATE TABLE measurements (
  study TEXT NOT NULL,
  run_id TEXT NOT NULL,
  checkpoint TEXT NOT NULL,
  measure TEXT NOT NULL,
  value DOUBLE PRECISION,
  seconds DOUBLE PRECISION NOT NULL,
  error TEXT,
  per_example TEXT,
  PRIMARY KEY (study, run_id, checkpoint, measure)
);
CREATE TABLE artifacts (
  study TEXT NOT NULL,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  PRIMARY KEY (study, run_id, kind)
);`,
  },
  {
    version: 2,
    description: 'executor jobs (Slurm job arrays) submitted for a study',
    sql: `
CREATE TABLE jobs (
  study TEXT NOT NULL,
  executor TEXT NOT NULL,
  job_id TEXT NOT NULL,
  tasks INTEGER NOT NULL,
  submitted_at TEXT NOT NULL,
  info TEXT NOT NULL,
  PRIMARY KEY (study, executor, job_id)
);`,
  },
];
