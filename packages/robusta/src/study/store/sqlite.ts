// The embedded default store: one SQLite file (better-sqlite3), shared by the worker processes of a
// local study. WAL journal and a busy timeout let several processes read and write; claims run in
// BEGIN IMMEDIATE transactions, so two workers never take the same run.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { StudyPlan, PlannedRun } from '../plan.js';
import { MIGRATIONS } from './migrations.js';
import {
  type StatusCounts, type StoredArtifact, type StoredEpoch, type StoredJob, type StoredMeasurement, type StoredRun, type StudyStore,
  StoreError, type SyncResult,
} from './types.js';

type Row = Record<string, unknown>;

const now = (): string => new Date().toISOString();
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function runFromRow(r: Row): StoredRun {
  const config = JSON.parse(String(r.config)) as PlannedRun;
  return {
    ...config,
    status: r.status as StoredRun['status'],
    stage: (r.stage as string | null) ?? null,
    worker: (r.worker as string | null) ?? null,
    leaseUntil: numOrNull(r.lease_until),
    attempts: Number(r.attempts),
    error: (r.error as string | null) ?? null,
    startedAt: (r.started_at as string | null) ?? null,
    finishedAt: (r.finished_at as string | null) ?? null,
    trainSeconds: numOrNull(r.train_seconds),
    measureSeconds: numOrNull(r.measure_seconds),
    active: Number(r.active) === 1,
  };
}

export function measurementFromRow(r: Row): StoredMeasurement {
  return {
    runId: String(r.run_id), checkpoint: String(r.checkpoint), measure: String(r.measure),
    value: r.value === null ? NaN : Number(r.value), seconds: Number(r.seconds), error: (r.error as string | null) ?? null,
    perExample: r.per_example ? (JSON.parse(String(r.per_example)) as number[]) : null,
  };
}

export function jobFromRow(r: Row): StoredJob {
  return {
    executor: String(r.executor), jobId: String(r.job_id), tasks: Number(r.tasks), submittedAt: String(r.submitted_at),
    info: JSON.parse(String(r.info)) as Record<string, unknown>,
  };
}

export class SqliteStore implements StudyStore {
  readonly location: string;
  private readonly db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.location = path;
    this.db = db;
  }

  /** Opens (creating when missing) the store at path and brings its schema up to date. */
  static open(path: string): SqliteStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 30_000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    } catch (e) {
      throw new StoreError(`cannot open the study store ${path}: ${(e as Error).message}`, { cause: e });
    }
    const store = new SqliteStore(path, db);
    try {
      store.migrate();
    } catch (e) {
      db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(`${path} is not a usable study store: ${(e as Error).message}`, { cause: e });
    }
    return store;
  }

  static exists(path: string): boolean {
    return existsSync(path);
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)));
    const newest = Math.max(...MIGRATIONS.map((m) => m.version));
    for (const v of applied) {
      if (v > newest) throw new StoreError(`${this.location} has schema version ${v}, newer than this robusta knows (${newest}): upgrade robusta`);
    }
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(m.version, m.description, now());
      }).immediate();
    }
  }

  async syncStudy(plan: StudyPlan): Promise<SyncResult> {
    return this.db.transaction((): SyncResult => {
      const t = now();
      const exists = this.db.prepare('SELECT name FROM studies WHERE name = ?').get(plan.name);
      if (exists) {
        this.db.prepare('UPDATE studies SET dataset = ?, kind = ?, plan_hash = ?, plan = ?, updated_at = ? WHERE name = ?')
          .run(plan.dataset, plan.kind, plan.hash, JSON.stringify(plan), t, plan.name);
      } else {
        this.db.prepare('INSERT INTO studies (name, dataset, kind, plan_hash, plan, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(plan.name, plan.dataset, plan.kind, plan.hash, JSON.stringify(plan), t, t);
      }
      const before = new Set((this.db.prepare('SELECT id FROM runs WHERE study = ?').all(plan.name) as Row[]).map((r) => String(r.id)));
      const insert = this.db.prepare('INSERT INTO runs (study, id, idx, config, active) VALUES (?, ?, ?, ?, 1)');
      const update = this.db.prepare('UPDATE runs SET idx = ?, config = ?, active = 1 WHERE study = ? AND id = ?');
      let added = 0;
      let kept = 0;
      for (const r of plan.runs) {
        if (before.has(r.id)) {
          update.run(r.index, JSON.stringify(r), plan.name, r.id);
          kept++;
        } else {
          insert.run(plan.name, r.id, r.index, JSON.stringify(r));
          added++;
        }
      }
      const ids = new Set(plan.runs.map((r) => r.id));
      const retire = this.db.prepare('UPDATE runs SET active = 0 WHERE study = ? AND id = ?');
      let retired = 0;
      for (const id of before) {
        if (!ids.has(id)) {
          retire.run(plan.name, id);
          retired++;
        }
      }
      return { added, kept, retired };
    }).immediate();
  }

  async getPlan(study: string): Promise<StudyPlan | null> {
    const r = this.db.prepare('SELECT plan FROM studies WHERE name = ?').get(study) as Row | undefined;
    return r ? (JSON.parse(String(r.plan)) as StudyPlan) : null;
  }

  async studies(): Promise<string[]> {
    return (this.db.prepare('SELECT name FROM studies ORDER BY created_at').all() as Row[]).map((r) => String(r.name));
  }

  async claimRun(study: string, worker: string, leaseMs: number): Promise<StoredRun | null> {
    return this.db.transaction((): StoredRun | null => {
      const t = Date.now();
      const r = this.db.prepare(`SELECT * FROM runs WHERE study = ? AND active = 1
        AND (status = 'pending' OR (status = 'running' AND lease_until < ?)) ORDER BY idx LIMIT 1`).get(study, t) as Row | undefined;
      if (!r) return null;
      this.db.prepare(`UPDATE runs SET status = 'running', worker = ?, lease_until = ?, attempts = attempts + 1, error = NULL,
        started_at = COALESCE(started_at, ?) WHERE study = ? AND id = ?`).run(worker, t + leaseMs, now(), study, r.id);
      return runFromRow(this.db.prepare('SELECT * FROM runs WHERE study = ? AND id = ?').get(study, r.id) as Row);
    }).immediate();
  }

  async renewLease(study: string, runId: string, worker: string, leaseMs: number, stage?: string): Promise<boolean> {
    const info = this.db.prepare(`UPDATE runs SET lease_until = ?, stage = COALESCE(?, stage)
      WHERE study = ? AND id = ? AND worker = ? AND status = 'running'`).run(Date.now() + leaseMs, stage ?? null, study, runId, worker);
    return info.changes === 1;
  }

  async reclaim(study: string, isDead: (worker: string) => boolean): Promise<number> {
    return this.db.transaction((): number => {
      const held = this.db.prepare(`SELECT id, worker FROM runs WHERE study = ? AND status = 'running'`).all(study) as Row[];
      let n = 0;
      for (const r of held) {
        if (r.worker && isDead(String(r.worker))) {
          this.db.prepare(`UPDATE runs SET status = 'pending', worker = NULL, lease_until = NULL WHERE study = ? AND id = ?`).run(study, r.id);
          n++;
        }
      }
      return n;
    }).immediate();
  }

  async recordEpoch(study: string, runId: string, epoch: number, metrics: Record<string, unknown>): Promise<void> {
    this.db.prepare('INSERT INTO epochs (study, run_id, epoch, metrics) VALUES (?, ?, ?, ?) ON CONFLICT (study, run_id, epoch) DO UPDATE SET metrics = excluded.metrics')
      .run(study, runId, epoch, JSON.stringify(metrics));
  }

  async recordTrained(study: string, runId: string, artifacts: Omit<StoredArtifact, 'runId'>[], seconds: number): Promise<void> {
    this.db.transaction(() => {
      const up = this.db.prepare(`INSERT INTO artifacts (study, run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (study, run_id, kind) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, bytes = excluded.bytes`);
      for (const a of artifacts) up.run(study, runId, a.kind, a.path, a.sha256, a.bytes);
      this.db.prepare('UPDATE runs SET train_seconds = COALESCE(train_seconds, 0) + ? WHERE study = ? AND id = ?').run(seconds, study, runId);
    }).immediate();
  }

  async recordMeasurements(study: string, runId: string, checkpoint: string, values: Omit<StoredMeasurement, 'runId' | 'checkpoint'>[]): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM measurements WHERE study = ? AND run_id = ? AND checkpoint = ?').run(study, runId, checkpoint);
      const ins = this.db.prepare(`INSERT INTO measurements (study, run_id, checkpoint, measure, value, seconds, error, per_example)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
      let seconds = 0;
      for (const v of values) {
        ins.run(study, runId, checkpoint, v.measure, Number.isFinite(v.value) ? v.value : null, v.seconds, v.error,
          v.perExample ? JSON.stringify(v.perExample) : null);
        seconds += v.seconds;
      }
      this.db.prepare('UPDATE runs SET measure_seconds = COALESCE(measure_seconds, 0) + ? WHERE study = ? AND id = ?').run(seconds, study, runId);
    }).immediate();
  }

  async measuredCheckpoints(study: string, runId: string): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT checkpoint FROM measurements WHERE study = ? AND run_id = ?').all(study, runId) as Row[]).map((r) => String(r.checkpoint));
  }

  async finishRun(study: string, runId: string, worker: string): Promise<void> {
    this.db.prepare(`UPDATE runs SET status = 'done', stage = NULL, lease_until = NULL, finished_at = ? WHERE study = ? AND id = ? AND worker = ?`)
      .run(now(), study, runId, worker);
  }

  async failRun(study: string, runId: string, worker: string, error: string): Promise<void> {
    this.db.prepare(`UPDATE runs SET status = 'failed', lease_until = NULL, error = ?, finished_at = ? WHERE study = ? AND id = ? AND worker = ?`)
      .run(error, now(), study, runId, worker);
  }

  async releaseRun(study: string, runId: string, worker: string): Promise<void> {
    this.db.prepare(`UPDATE runs SET status = 'pending', worker = NULL, lease_until = NULL WHERE study = ? AND id = ? AND worker = ? AND status = 'running'`)
      .run(study, runId, worker);
  }

  async retryFailed(study: string): Promise<number> {
    return this.db.prepare(`UPDATE runs SET status = 'pending', error = NULL, worker = NULL WHERE study = ? AND status = 'failed' AND active = 1`).run(study).changes;
  }

  async counts(study: string): Promise<StatusCounts> {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM runs WHERE study = ? AND active = 1 GROUP BY status').all(study) as Row[];
    const c: StatusCounts = { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
    for (const r of rows) {
      c[r.status as keyof Omit<StatusCounts, 'total'>] = Number(r.n);
      c.total += Number(r.n);
    }
    return c;
  }

  async runs(study: string, o: { includeRetired?: boolean } = {}): Promise<StoredRun[]> {
    const sql = `SELECT * FROM runs WHERE study = ?${o.includeRetired ? '' : ' AND active = 1'} ORDER BY idx`;
    return (this.db.prepare(sql).all(study) as Row[]).map(runFromRow);
  }

  async measurements(study: string): Promise<StoredMeasurement[]> {
    return (this.db.prepare(`SELECT m.* FROM measurements m JOIN runs r ON r.study = m.study AND r.id = m.run_id
      WHERE m.study = ? AND r.active = 1 ORDER BY r.idx, m.checkpoint, m.measure`).all(study) as Row[]).map(measurementFromRow);
  }

  async epochs(study: string, runId?: string): Promise<StoredEpoch[]> {
    const rows = (runId === undefined
      ? this.db.prepare('SELECT * FROM epochs WHERE study = ? ORDER BY run_id, epoch').all(study)
      : this.db.prepare('SELECT * FROM epochs WHERE study = ? AND run_id = ? ORDER BY epoch').all(study, runId)) as Row[];
    return rows.map((r) => ({ runId: String(r.run_id), epoch: Number(r.epoch), metrics: JSON.parse(String(r.metrics)) as Record<string, unknown> }));
  }

  async artifacts(study: string, runId?: string): Promise<StoredArtifact[]> {
    const rows = (runId === undefined
      ? this.db.prepare('SELECT * FROM artifacts WHERE study = ? ORDER BY run_id, kind').all(study)
      : this.db.prepare('SELECT * FROM artifacts WHERE study = ? AND run_id = ? ORDER BY kind').all(study, runId)) as Row[];
    return rows.map((r) => ({ runId: String(r.run_id), kind: String(r.kind), path: String(r.path), sha256: String(r.sha256), bytes: Number(r.bytes) }));
  }

  async recordJob(study: string, job: Omit<StoredJob, 'submittedAt'>): Promise<void> {
    this.db.prepare('INSERT INTO jobs (study, executor, job_id, tasks, submitted_at, info) VALUES (?, ?, ?, ?, ?, ?)')
      .run(study, job.executor, job.jobId, job.tasks, now(), JSON.stringify(job.info));
  }

  async jobs(study: string, executor?: string): Promise<StoredJob[]> {
    const rows = (executor === undefined
      ? this.db.prepare('SELECT * FROM jobs WHERE study = ? ORDER BY submitted_at, job_id').all(study)
      : this.db.prepare('SELECT * FROM jobs WHERE study = ? AND executor = ? ORDER BY submitted_at, job_id').all(study, executor)) as Row[];
    return rows.map(jobFromRow);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
