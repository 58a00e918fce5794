// The PostgreSQL store on a real server (Debian's postgresql, a throw-away cluster started here and
// stopped after): the store contract of the SQLite store, then what only a networked store has —
// workers opening a fresh database at once, claims that skip locked rows instead of waiting,
// unreachable servers and passwords kept out of messages.
import assert from 'node:assert/strict';
import test, { after } from 'node:test';
import pg from 'pg';
import * as study from '../../src/study/index.js';
import { MIGRATIONS } from '../../src/study/store/migrations.js';
import { redactUrl } from '../../src/study/store/postgres.js';
import { startService } from './services.js';
import { fakePlan, storeContract } from './store-contract.js';

const started = startService('postgres');
const skip = started.skip;
const server = started.service;
after(() => server?.stop());

/** postgres://…/<database> on the test server. */
const urlOf = (database: string): string => server!.values.PGURL!.replace(/\/[^/]+$/, `/${database}`);

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: urlOf('postgres') });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

let databases = 0;
/**
 * A new database. Its default collation is ICU's en-US where the server has ICU, so a store that
 * relied on the database's collation to order names would disagree with SQLite's byte order.
 */
async function freshDatabase(): Promise<string> {
  const name = `contract_${process.pid}_${databases++}`;
  await admin(async (c) => {
    try {
      await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`);
    } catch {
      await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
    }
  });
  return name;
}

async function onDatabase<T>(name: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: urlOf(name) });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

storeContract({
  name: 'PostgreSQL',
  skip,
  fresh: async () => {
    const name = await freshDatabase();
    return {
      location: urlOf(name),
      exec: (sql) => onDatabase(name, async (c) => void (await c.query(sql))),
      query: (sql) => onDatabase(name, async (c) => (await c.query(sql)).rows as Record<string, unknown>[]),
      dispose: () => admin(async (c) => void (await c.query(`DROP DATABASE ${name} WITH (FORCE)`))),
    };
  },
});

test('PostgreSQL: the contract databases order text by a collation other than bytes (so the ordering test can fail)', { skip }, async () => {
  const name = await freshDatabase();
  try {
    const r = await onDatabase(name, async (c) => (await c.query(`SELECT 'aB' < 'ab' AS bytewise, datlocprovider AS provider FROM pg_database WHERE datname = current_database()`)).rows[0]);
    if (r.provider !== 'i') console.log('# this PostgreSQL has no ICU: the collation check of the ordering test is weaker');
    else assert.equal(r.bytewise, false, 'ICU en-US orders ab before aB');
  } finally {
    await admin(async (c) => void (await c.query(`DROP DATABASE ${name} WITH (FORCE)`)));
  }
});

test('PostgreSQL: workers opening a fresh database at once apply each migration exactly once', { skip }, async () => {
  const name = await freshDatabase();
  const stores = Array.from({ length: 8 }, () => study.openStore(urlOf(name)));
  try {
    await Promise.all(stores.map((s) => s.counts('x')));
    const versions = await onDatabase(name, async (c) => (await c.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version)));
    assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
  } finally {
    for (const s of stores) await s.close();
    await admin(async (c) => void (await c.query(`DROP DATABASE ${name} WITH (FORCE)`)));
  }
});

test('PostgreSQL: a claim skips a run another transaction has locked instead of waiting for it', { skip }, async () => {
  const name = await freshDatabase();
  const store = study.openStore(urlOf(name));
  const locker = new pg.Client({ connectionString: urlOf(name) });
  try {
    await store.syncStudy(fakePlan('s', 2));
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM runs WHERE study = 's' AND id = 'run0000' FOR UPDATE`);
    const t0 = performance.now();
    const claim = store.claimRun('s', 'w', 60_000);
    const timeout = new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 5_000).unref());
    const got = await Promise.race([claim, timeout]);
    assert.notEqual(got, 'blocked', 'the claim waited on the locked row');
    assert.equal((got as study.StoredRun).id, 'run0001');
    assert.ok(performance.now() - t0 < 5_000);
    await locker.query('ROLLBACK');
    assert.equal((await store.claimRun('s', 'v', 60_000))?.id, 'run0000', 'the row is claimable once unlocked');
  } finally {
    await locker.end().catch(() => {});
    await store.close();
    await admin(async (c) => void (await c.query(`DROP DATABASE ${name} WITH (FORCE)`)));
  }
});

test('PostgreSQL: leases are timed by the database clock', { skip }, async () => {
  const name = await freshDatabase();
  const store = study.openStore(urlOf(name));
  try {
    await store.syncStudy(fakePlan('s', 1));
    const run = await store.claimRun('s', 'w', 10_000);
    const dbNow = await onDatabase(name, async (c) => Number((await c.query('SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS t')).rows[0].t));
    assert.ok(run!.leaseUntil! > dbNow + 9_000 && run!.leaseUntil! <= dbNow + 10_000, `lease ${run!.leaseUntil} vs database time ${dbNow}`);
    // Move the lease into the past in the database's time: the run is claimable however the workers' clocks read.
    await onDatabase(name, async (c) => c.query(`UPDATE runs SET lease_until = (extract(epoch from clock_timestamp()) * 1000)::bigint - 1`));
    assert.equal((await store.claimRun('s', 'v', 10_000))?.worker, 'v');
  } finally {
    await store.close();
    await admin(async (c) => void (await c.query(`DROP DATABASE ${name} WITH (FORCE)`)));
  }
});

test('PostgreSQL: an unreachable server is a StoreError on first use; passwords never appear in locations', async () => {
  const store = study.openStore('postgres://robusta:s3cret@127.0.0.1:1/nothing');
  assert.equal(store.location, 'postgres://robusta@127.0.0.1:1/nothing');
  await assert.rejects(store.counts('x'), (e: Error) => e.name === 'StoreError' && /cannot open the study store postgres:\/\/robusta@127\.0\.0\.1:1\/nothing/.test(e.message) && !e.message.includes('s3cret'));
  await store.close();
  assert.throws(() => study.openStore('postgres://host:5432'), /the database is required/);
  assert.equal(redactUrl('postgresql://u:p%40ss@db.example:5433/studies?sslmode=require'), 'postgresql://u@db.example:5433/studies?sslmode=require');
  assert.equal(redactUrl('postgres://u@h/d'), 'postgres://u@h/d');
});
