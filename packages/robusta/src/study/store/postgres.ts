// The networked store: a PostgreSQL database (node-postgres), shared by workers on many machines (Slurm
// tasks). The same schema and migrations as the SQLite default (migrations.ts); migrations run under an
// advisory lock, so workers that open a fresh database at once apply each one exactly once.
//
// A claim is one statement: the first claimable run in plan order is locked with
// `SELECT … FOR UPDATE SKIP LOCKED` and marked running in the same UPDATE, so concurrent workers never
// take the same run and never wait on each other's row locks. Leases are timed by the database's clock
// (clock_timestamp()), so the workers' clocks need not agree. Every stage's results are written in one
// transaction (a killed worker leaves a stage either wholly recorded or not at all).
import pg from 'pg';
import type { StudyPlan } from '../plan.js';
import { MIGRATIONS } from './migrations.js';
import { jobFromRow, measurementFromRow, runFromRow } from './sqlite.js';
import {
  type StatusCounts, type StoredArtifact, type StoredEpoch, type StoredJob, type StoredMeasurement, type StoredRun, type StudyStore,
  StoreError, type SyncResult,
} from './types.js';

type Row = Record<string, unknown>;

const now = (): string => new Date().toISOString();
/** The database's clock in epoch milliseconds (the lease clock of every worker). */
const DB_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/** Serialises migrations of one database (an arbitrary constant key of pg_advisory_xact_lock). */
const MIGRATION_LOCK = 727_301_442;

export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/** The URL without its password (for messages, status lines and job records). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/^(postgres(?:ql)?:\/\/[^:@/]*):@/i, '$1@');
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1@');
  }
}

export class PostgresStore implements StudyStore {
  readonly location: string;
  private readonly pool: pg.Pool;
  /** Connection and migrations; every method waits for it (so that open stays synchronous). */
  private readonly ready: Promise<void>;
  private closed = false;

  private constructor(url: string) {
    this.location = redactUrl(url);
    this.pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 30_000, idleTimeoutMillis: 10_000 });
    // A connection that breaks while idle (server restart) must not crash the worker; the next query reconnects.
    this.pool.on('error', () => {});
    this.ready = this.migrate();
    this.ready.catch(() => {}); // reported by the first method that waits for it
  }

  /** Opens the store at a postgres:// URL; the connection and migrations complete on first use. */
  static open(url: string): PostgresStore {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StoreError(`not a PostgreSQL URL: ${redactUrl(url)} (postgres://user@host:port/database)`);
    }
    if (!isPostgresUrl(url) || u.pathname.length <= 1) {
      throw new StoreError(`not a PostgreSQL URL: ${redactUrl(url)} (postgres://user@host:port/database; the database is required)`);
    }
    return new PostgresStore(url);
  }

  private async migrate(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw new StoreError(`cannot open the study store ${this.location}: ${(e as Error).message}`, { cause: e });
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
      const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => Number(r.version)));
      const newest = Math.max(...MIGRATIONS.map((m) => m.version));
      for (const v of applied) {
        if (v > newest) throw new StoreError(`${this.location} has schema version ${v}, newer than this robusta knows (${newest}): upgrade robusta`);
      }
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [m.version, m.description, now()]);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      if (e instanceof StoreError) throw e;
      throw new StoreError(`${this.location} is not a usable study store: ${(e as Error).message}`, { cause: e });
    } finally {
      client.release();
    }
  }

  private async query(sql: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    await this.ready;
    return this.pool.query<Row>(sql, params);
  }

  /** Runs f in one transaction on one connection (rolled back when f throws). */
  private async transaction<T>(f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await f(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((re: Error) => {
        broken = re; // a connection that cannot roll back is not given back to the pool
      });
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async syncStudy(plan: StudyPlan): Promise<SyncResult> {
    return this.transaction(async (c) => {
      const t = now();
      // Row lock on the study: two `study run` commands syncing one study at once take turns.
      const exists = (await c.query('SELECT name FROM studies WHERE name = $1 FOR UPDATE', [plan.name])).rowCount === 1;
      if (exists) {
        await c.query('UPDATE studies SET dataset = $1, kind = $2, plan_hash = $3, plan = $4, updated_at = $5 WHERE name = $6',
          [plan.dataset, plan.kind, plan.hash, JSON.stringify(plan), t, plan.name]);
      } else {
        await c.query(`INSERT INTO studies (name, dataset, kind, plan_hash, plan, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
          ON CONFLICT (name) DO UPDATE SET dataset = excluded.dataset, kind = excluded.kind, plan_hash = excluded.plan_hash,
          plan = excluded.plan, updated_at = excluded.updated_at`,
        [plan.name, plan.dataset, plan.kind, plan.hash, JSON.stringify(plan), t, t]);
      }
      const before = new Set((await c.query('SELECT id FROM runs WHERE study = $1', [plan.name])).rows.map((r: Row) => String(r.id)));
      let added = 0;
      let kept = 0;
      for (const r of plan.runs) {
        if (before.has(r.id)) {
          await c.query('UPDATE runs SET idx = $1, config = $2, active = 1 WHERE study = $3 AND id = $4', [r.index, JSON.stringify(r), plan.name, r.id]);
          kept++;
        } else {
          await c.query('INSERT INTO runs (study, id, idx, config, active) VALUES ($1, $2, $3, $4, 1)', [plan.name, r.id, r.index, JSON.stringify(r)]);
          added++;
        }
      }
      const ids = new Set(plan.runs.map((r) => r.id));
      let retired = 0;
      for (const id of before) {
        if (!ids.has(id)) {
          await c.query('UPDATE runs SET active = 0 WHERE study = $1 AND id = $2', [plan.name, id]);
          retired++;
        }
      }
      return { added, kept, retired };
    });
  }

  async getPlan(study: string): Promise<StudyPlan | null> {
    const r = (await this.query('SELECT plan FROM studies WHERE name = $1', [study])).rows[0];
    return r ? (JSON.parse(String(r.plan)) as StudyPlan) : null;
  }

  async studies(): Promise<string[]> {
    return (await this.query('SELECT name FROM studies ORDER BY created_at, name COLLATE "C"')).rows.map((r) => String(r.name));
  }

  async claimRun(study: string, worker: string, leaseMs: number): Promise<StoredRun | null> {
    const r = (await this.query(`
      WITH claimable AS (
        SELECT id FROM runs
        WHERE study = $1 AND active = 1 AND (status = 'pending' OR (status = 'running' AND lease_until < ${DB_MS}))
        ORDER BY idx LIMIT 1
        FOR UPDATE SKIP LOCKED)
      UPDATE runs SET status = 'running', worker = $2, lease_until = ${DB_MS} + $3, attempts = attempts + 1, error = NULL,
        started_at = COALESCE(started_at, $4)
      FROM claimable WHERE runs.study = $1 AND runs.id = claimable.id
      RETURNING runs.*`, [study, worker, Math.round(leaseMs), now()])).rows[0];
    return r ? runFromRow(r) : null;
  }

  async renewLease(study: string, runId: string, worker: string, leaseMs: number, stage?: string): Promise<boolean> {
    const r = await this.query(`UPDATE runs SET lease_until = ${DB_MS} + $1, stage = COALESCE($2, stage)
      WHERE study = $3 AND id = $4 AND worker = $5 AND status = 'running'`, [Math.round(leaseMs), stage ?? null, study, runId, worker]);
    return r.rowCount === 1;
  }

  async reclaim(study: string, isDead: (worker: string) => boolean): Promise<number> {
    return this.transaction(async (c) => {
      const held = (await c.query(`SELECT id, worker FROM runs WHERE study = $1 AND status = 'running' FOR UPDATE`, [study])).rows;
      let n = 0;
      for (const r of held) {
        if (r.worker && isDead(String(r.worker))) {
          await c.query(`UPDATE runs SET status = 'pending', worker = NULL, lease_until = NULL WHERE study = $1 AND id = $2`, [study, r.id]);
          n++;
        }
      }
      return n;
    });
  }

  async recordEpoch(study: string, runId: string, epoch: number, metrics: Record<string, unknown>): Promise<void> {
    await this.query(`INSERT INTO epochs (study, run_id, epoch, metrics) VALUES ($1, $2, $3, $4)
      ON CONFLICT (study, run_id, epoch) DO UPDATE SET metrics = excluded.metrics`, [study, runId, epoch, JSON.stringify(metrics)]);
  }

  async recordTrained(study: string, runId: string, artifacts: Omit<StoredArtifact, 'runId'>[], seconds: number): Promise<void> {
    await this.transaction(async (c) => {
      for (const a of artifacts) {
        await c.query(`INSERT INTO artifacts (study, run_id, kind, path, sha256, bytes) VALUES ($1, $2, $3, $4, $5, $6)
          ON CONFLICT (study, run_id, kind) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, bytes = excluded.bytes`,
        [study, runId, a.kind, a.path, a.sha256, a.bytes]);
      }
      await c.query('UPDATE runs SET train_seconds = COALESCE(train_seconds, 0) + $1 WHERE study = $2 AND id = $3', [seconds, study, runId]);
    });
  }

  async recordMeasurements(study: string, runId: string, checkpoint: string, values: Omit<StoredMeasurement, 'runId' | 'checkpoint'>[]): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('DELETE FROM measurements WHERE study = $1 AND run_id = $2 AND checkpoint = $3', [study, runId, checkpoint]);
      let seconds = 0;
      for (const v of values) {
        await c.query(`INSERT INTO measurements (study, run_id, checkpoint, measure, value, seconds, error, per_example)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [study, runId, checkpoint, v.measure, Number.isFinite(v.value) ? v.value : null, v.seconds, v.error,
          v.perExample ? JSON.stringify(v.perExample) : null]);
        seconds += v.seconds;
      }
      await c.query('UPDATE runs SET measure_seconds = COALESCE(measure_seconds, 0) + $1 WHERE study = $2 AND id = $3', [seconds, study, runId]);
    });
  }

  async measuredCheckpoints(study: string, runId: string): Promise<string[]> {
    return (await this.query('SELECT DISTINCT checkpoint FROM measurements WHERE study = $1 AND run_id = $2', [study, runId])).rows.map((r) => String(r.checkpoint));
  }

  async finishRun(study: string, runId: string, worker: string): Promise<void> {
    await this.query(`UPDATE runs SET status = 'done', stage = NULL, lease_until = NULL, finished_at = $1 WHERE study = $2 AND id = $3 AND worker = $4`,
      [now(), study, runId, worker]);
  }

  async failRun(study: string, runId: string, worker: string, error: string): Promise<void> {
    await this.query(`UPDATE runs SET status = 'failed', lease_until = NULL, error = $1, finished_at = $2 WHERE study = $3 AND id = $4 AND worker = $5`,
      [error, now(), study, runId, worker]);
  }

  async releaseRun(study: string, runId: string, worker: string): Promise<void> {
    await this.query(`UPDATE runs SET status = 'pending', worker = NULL, lease_until = NULL WHERE study = $1 AND id = $2 AND worker = $3 AND status = 'running'`,
      [study, runId, worker]);
  }

  async retryFailed(study: string): Promise<number> {
    return (await this.query(`UPDATE runs SET status = 'pending', error = NULL, worker = NULL WHERE study = $1 AND status = 'failed' AND active = 1`, [study])).rowCount ?? 0;
  }

  async counts(study: string): Promise<StatusCounts> {
    const rows = (await this.query('SELECT status, COUNT(*) AS n FROM runs WHERE study = $1 AND active = 1 GROUP BY status', [study])).rows;
    const c: StatusCounts = { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
    for (const r of rows) {
      c[r.status as keyof Omit<StatusCounts, 'total'>] = Number(r.n);
      c.total += Number(r.n);
    }
    return c;
  }

  async runs(study: string, o: { includeRetired?: boolean } = {}): Promise<StoredRun[]> {
    const sql = `SELECT * FROM runs WHERE study = $1${o.includeRetired ? '' : ' AND active = 1'} ORDER BY idx`;
    return (await this.query(sql, [study])).rows.map(runFromRow);
  }

  // Text is ordered byte-wise (COLLATE "C"), as SQLite orders it, whatever the database's locale.
  async measurements(study: string): Promise<StoredMeasurement[]> {
    return (await this.query(`SELECT m.* FROM measurements m JOIN runs r ON r.study = m.study AND r.id = m.run_id
      WHERE m.study = $1 AND r.active = 1 ORDER BY r.idx, m.checkpoint COLLATE "C", m.measure COLLATE "C"`, [study])).rows.map(measurementFromRow);
  }

  async epochs(study: string, runId?: string): Promise<StoredEpoch[]> {
    const rows = (runId === undefined
      ? await this.query('SELECT * FROM epochs WHERE study = $1 ORDER BY run_id COLLATE "C", epoch', [study])
      : await this.query('SELECT * FROM epochs WHERE study = $1 AND run_id = $2 ORDER BY epoch', [study, runId])).rows;
    return rows.map((r) => ({ runId: String(r.run_id), epoch: Number(r.epoch), metrics: JSON.parse(String(r.metrics)) as Record<string, unknown> }));
  }

  async artifacts(study: string, runId?: string): Promise<StoredArtifact[]> {
    const rows = (runId === undefined
      ? await this.query('SELECT * FROM artifacts WHERE study = $1 ORDER BY run_id COLLATE "C", kind COLLATE "C"', [study])
      : await this.query('SELECT * FROM artifacts WHERE study = $1 AND run_id = $2 ORDER BY kind COLLATE "C"', [study, runId])).rows;
    return rows.map((r) => ({ runId: String(r.run_id), kind: String(r.kind), path: String(r.path), sha256: String(r.sha256), bytes: Number(r.bytes) }));
  }

  async recordJob(study: string, job: Omit<StoredJob, 'submittedAt'>): Promise<void> {
    await this.query('INSERT INTO jobs (study, executor, job_id, tasks, submitted_at, info) VALUES ($1, $2, $3, $4, $5, $6)',
      [study, job.executor, job.jobId, job.tasks, now(), JSON.stringify(job.info)]);
  }

  async jobs(study: string, executor?: string): Promise<StoredJob[]> {
    const rows = (executor === undefined
      ? await this.query('SELECT * FROM jobs WHERE study = $1 ORDER BY submitted_at, job_id COLLATE "C"', [study])
      : await this.query('SELECT * FROM jobs WHERE study = $1 AND executor = $2 ORDER BY submitted_at, job_id COLLATE "C"', [study, executor])).rows;
    return rows.map(jobFromRow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    await this.pool.end();
  }
}
