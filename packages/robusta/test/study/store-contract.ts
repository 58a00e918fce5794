// The behaviour every study store must have, run against SQLite (sqlite-store.test.ts) and PostgreSQL
// (postgres.test.ts): migrations from an older schema, plan sync, claims in plan order with leases,
// lease renewal and expiry, reclaim, one transaction per stage, exact doubles, ordering, status changes.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as study from '../../src/study/index.js';
import { MIGRATIONS } from '../../src/study/store/migrations.js';

export interface ContractLocation {
  /** What openStore receives (a path or a postgres:// URL). */
  location: string;
  /** Runs raw SQL on the location, outside the store (to build old schemas). */
  exec(sql: string): Promise<void>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  dispose(): Promise<void>;
}

export interface ContractTarget {
  name: string;
  /** An empty location (new file, new database). */
  fresh(): Promise<ContractLocation>;
  skip?: string | false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A plan of n runs without training (the store never looks inside a run's config). */
export function fakePlan(name: string, n: number, o: { offset?: number } = {}): study.StudyPlan {
  const runs = Array.from({ length: n }, (_, i) => ({
    id: `run${String(i + (o.offset ?? 0)).padStart(4, '0')}`, index: i, settings: { seed: i + (o.offset ?? 0) }, job: null,
    given: { model: 'mnist-mlp', weights: `/w/${i}.pt`, init: null, name: `m${i}` }, checkpoints: ['given' as const],
  }));
  return {
    name, description: '', dataset: 'mnist', kind: 'checkpoints', axes: ['seed'], runs, measures: ['clean-acc-test'],
    measureSettings: {} as study.StudyPlan['measureSettings'], execution: { workers: null, threads: null }, hash: `h${n}`,
  };
}

async function withStore<T>(target: ContractTarget, f: (store: study.StudyStore, loc: ContractLocation) => Promise<T>): Promise<T> {
  const loc = await target.fresh();
  const store = study.openStore(loc.location);
  try {
    return await f(store, loc);
  } finally {
    await store.close();
    await loc.dispose();
  }
}

export function storeContract(target: ContractTarget): void {
  const t = (name: string, f: (store: study.StudyStore, loc: ContractLocation) => Promise<void>) =>
    test(`${target.name} store: ${name}`, { skip: target.skip ?? false, timeout: 120_000 }, () => withStore(target, f));

  test(`${target.name} store: a store at schema version 1 is migrated, keeping its runs; a newer schema is refused`, { skip: target.skip ?? false }, async () => {
    const loc = await target.fresh();
    try {
      await loc.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
      await loc.exec(MIGRATIONS[0]!.sql);
      await loc.exec(`INSERT INTO schema_migrations VALUES (1, 'v1', '2026-01-01')`);
      await loc.exec(`INSERT INTO studies VALUES ('old', 'mnist', 'grid', 'h', '{"name":"old"}', '2026-01-01', '2026-01-01')`);
      await loc.exec(`INSERT INTO runs (study, id, idx, config, status, attempts) VALUES ('old', 'r1', 0, '{"id":"r1","index":0,"settings":{},"job":null,"given":null,"checkpoints":["last"]}', 'done', 1)`);
      const store = study.openStore(loc.location);
      try {
        const runs = await store.runs('old');
        assert.deepEqual(runs.map((r) => [r.id, r.status, r.attempts]), [['r1', 'done', 1]]);
        assert.deepEqual(await store.jobs('old'), [], 'migration 2 (jobs) applied');
        await store.recordJob('old', { executor: 'slurm', jobId: '17', tasks: 3, info: { partition: 'gpu' } });
        const jobs = await store.jobs('old');
        assert.equal(jobs.length, 1);
        assert.deepEqual({ ...jobs[0], submittedAt: undefined }, { executor: 'slurm', jobId: '17', tasks: 3, info: { partition: 'gpu' }, submittedAt: undefined });
      } finally {
        await store.close();
      }
      const versions = (await loc.query('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version));
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
      // A second open applies nothing twice.
      const again = study.openStore(loc.location);
      await again.counts('old');
      await again.close();
      assert.equal((await loc.query('SELECT version FROM schema_migrations')).length, MIGRATIONS.length);
      await loc.exec(`INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')`);
      await assert.rejects(async () => {
        const s = study.openStore(loc.location);
        try {
          await s.counts('old');
        } finally {
          await s.close();
        }
      }, (e: Error) => e.name === 'StoreError' && /schema version 99, newer than this robusta knows/.test(e.message));
    } finally {
      await loc.dispose();
    }
  });

  t('sync adds, keeps and retires runs; a retired run comes back with its results', async (store) => {
    assert.deepEqual(await store.syncStudy(fakePlan('s', 3)), { added: 3, kept: 0, retired: 0 });
    assert.deepEqual(await store.studies(), ['s']);
    const c = await store.claimRun('s', 'w', 60_000);
    await store.finishRun('s', c!.id, 'w');
    const shrunk = fakePlan('s', 2);
    assert.deepEqual(await store.syncStudy(shrunk), { added: 0, kept: 2, retired: 1 });
    assert.deepEqual((await store.runs('s')).map((r) => r.id), ['run0000', 'run0001']);
    assert.deepEqual((await store.runs('s', { includeRetired: true })).map((r) => [r.id, r.active]), [['run0000', true], ['run0001', true], ['run0002', false]]);
    assert.equal((await store.counts('s')).total, 2);
    const grown = fakePlan('s', 4);
    assert.deepEqual(await store.syncStudy(grown), { added: 1, kept: 3, retired: 0 });
    assert.equal((await store.runs('s')).find((r) => r.id === 'run0000')!.status, 'done', 'results kept across syncs');
    assert.deepEqual(await store.getPlan('s'), grown);
    assert.equal(await store.getPlan('nope'), null);
  });

  t('claims follow plan order, set worker, lease and attempts, and end with null', async (store) => {
    await store.syncStudy(fakePlan('s', 3));
    const before = Date.now();
    const a = await store.claimRun('s', 'w1', 60_000);
    const b = await store.claimRun('s', 'w2', 60_000);
    const c = await store.claimRun('s', 'w1', 60_000);
    assert.deepEqual([a!.id, b!.id, c!.id], ['run0000', 'run0001', 'run0002']);
    assert.equal(await store.claimRun('s', 'w3', 60_000), null);
    assert.deepEqual([a!.status, a!.worker, a!.attempts], ['running', 'w1', 1]);
    assert.ok(a!.leaseUntil! >= before + 59_000 && a!.leaseUntil! <= Date.now() + 61_000, `lease ${a!.leaseUntil} not about a minute ahead`);
    assert.ok(a!.startedAt !== null);
    assert.deepEqual(await store.counts('s'), { pending: 0, running: 3, done: 0, failed: 0, total: 3 });
    assert.equal(await store.claimRun('other-study', 'w', 1000), null);
  });

  t('an expired lease makes a run claimable; the old holder can neither renew nor finish it', async (store) => {
    await store.syncStudy(fakePlan('s', 1));
    const first = await store.claimRun('s', 'old', 300);
    assert.equal(await store.claimRun('s', 'new', 60_000), null, 'a live lease blocks the claim');
    await sleep(450);
    const second = await store.claimRun('s', 'new', 60_000);
    assert.equal(second?.id, first!.id);
    assert.equal(second!.attempts, 2);
    assert.equal(await store.renewLease('s', first!.id, 'old', 60_000), false);
    await store.finishRun('s', first!.id, 'old');
    await store.failRun('s', first!.id, 'old', 'late');
    await store.releaseRun('s', first!.id, 'old');
    const [r] = await store.runs('s');
    assert.deepEqual([r!.status, r!.worker, r!.error], ['running', 'new', null]);
  });

  t('renewing a lease keeps the run held and records the stage', async (store) => {
    await store.syncStudy(fakePlan('s', 1));
    const run = await store.claimRun('s', 'w', 400);
    await sleep(200);
    assert.equal(await store.renewLease('s', run!.id, 'w', 5_000, 'measure:best'), true);
    await sleep(350);
    assert.equal(await store.claimRun('s', 'x', 1000), null, 'the renewed lease has not expired');
    const [r] = await store.runs('s');
    assert.equal(r!.stage, 'measure:best');
    assert.ok(r!.leaseUntil! > Date.now() + 3_000);
    assert.equal(await store.renewLease('s', run!.id, 'w', 5_000), true);
    assert.equal((await store.runs('s'))[0]!.stage, 'measure:best', 'renewing without a stage keeps it');
  });

  t('reclaim frees exactly the runs of dead workers', async (store) => {
    await store.syncStudy(fakePlan('s', 3));
    for (const w of ['alive', 'dead', 'dead']) await store.claimRun('s', w, 60_000);
    assert.equal(await store.reclaim('s', (w) => w === 'dead'), 2);
    assert.deepEqual((await store.runs('s')).map((r) => [r.status, r.worker]), [['running', 'alive'], ['pending', null], ['pending', null]]);
    const again = await store.claimRun('s', 'w', 60_000);
    assert.deepEqual([again!.id, again!.attempts], ['run0001', 2]);
  });

  t('results: epochs upsert, training seconds add up, measures replace their checkpoint, doubles exact', async (store) => {
    await store.syncStudy(fakePlan('s', 2));
    const run = await store.claimRun('s', 'w', 60_000);
    await store.recordEpoch('s', run!.id, 1, { loss: 0.5, note: 'x' });
    await store.recordEpoch('s', run!.id, 1, { loss: 0.25 });
    await store.recordEpoch('s', run!.id, 2, { loss: 0.125 });
    assert.deepEqual(await store.epochs('s', run!.id), [{ runId: run!.id, epoch: 1, metrics: { loss: 0.25 } }, { runId: run!.id, epoch: 2, metrics: { loss: 0.125 } }]);
    const art = (kind: string) => ({ kind, path: `/x/${kind}`, sha256: 'ab'.repeat(32), bytes: 2 ** 40 + 7 });
    await store.recordTrained('s', run!.id, [art('last.pt'), art('best.pt')], 1.5);
    await store.recordTrained('s', run!.id, [{ ...art('last.pt'), sha256: 'cd'.repeat(32) }], 2.25);
    assert.deepEqual((await store.artifacts('s', run!.id)).map((a) => [a.kind, a.sha256.slice(0, 2), a.bytes]), [['best.pt', 'ab', 2 ** 40 + 7], ['last.pt', 'cd', 2 ** 40 + 7]]);
    const values = [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, -2.5e-7, 123456789.12345679, 0.8999999999999999];
    await store.recordMeasurements('s', run!.id, 'last', [
      ...values.map((v, i) => ({ measure: `m${i}`, value: v, seconds: 0.5, error: null, perExample: i === 0 ? [0.1, 1 / 7, -0] : null })),
      { measure: 'broken', value: NaN, seconds: 0.25, error: 'diverged', perExample: null },
    ]);
    await store.recordMeasurements('s', run!.id, 'best', [{ measure: 'm0', value: 1, seconds: 1, error: null, perExample: null }]);
    await store.recordMeasurements('s', run!.id, 'best', [{ measure: 'm1', value: 2, seconds: 1, error: null, perExample: null }]);
    const m = await store.measurements('s');
    assert.deepEqual(m.filter((x) => x.checkpoint === 'best').map((x) => [x.measure, x.value]), [['m1', 2]], 'the second write replaced the checkpoint');
    const last = m.filter((x) => x.checkpoint === 'last');
    for (let i = 0; i < values.length; i++) assert.ok(Object.is(last.find((x) => x.measure === `m${i}`)!.value, values[i]), `m${i}: ${values[i]} did not round-trip exactly`);
    const broken = last.find((x) => x.measure === 'broken')!;
    assert.ok(Number.isNaN(broken.value));
    assert.equal(broken.error, 'diverged');
    assert.deepEqual(last.find((x) => x.measure === 'm0')!.perExample, [0.1, 1 / 7, 0]);
    assert.deepEqual((await store.measuredCheckpoints('s', run!.id)).sort(), ['best', 'last']);
    const [r] = await store.runs('s');
    assert.equal(r!.trainSeconds, 3.75);
    assert.equal(r!.measureSeconds, 0.5 * values.length + 0.25 + 1 + 1);
  });

  t('a stage that fails midway leaves nothing of itself (one transaction per stage)', async (store) => {
    await store.syncStudy(fakePlan('s', 1));
    const run = await store.claimRun('s', 'w', 60_000);
    const ok = { measure: 'a', value: 1, seconds: 1, error: null, perExample: null };
    await store.recordMeasurements('s', run!.id, 'last', [ok]);
    // The second row repeats a measure: its insert fails after the delete and the first insert ran.
    await assert.rejects(store.recordMeasurements('s', run!.id, 'last', [{ ...ok, measure: 'b', value: 2 }, { ...ok, measure: 'b', value: 3 }]));
    assert.deepEqual((await store.measurements('s')).map((x) => [x.measure, x.value]), [['a', 1]], 'the failed stage left rows behind or lost the old ones');
    assert.equal((await store.runs('s'))[0]!.measureSeconds, 1);
    // The store is still usable afterwards (the failed transaction was rolled back, not left open).
    await store.recordMeasurements('s', run!.id, 'last', [{ ...ok, measure: 'c' }]);
    assert.deepEqual((await store.measurements('s')).map((x) => x.measure), ['c']);
  });

  t('finish, fail, release, retry and counts', async (store) => {
    await store.syncStudy(fakePlan('s', 4));
    const [a, b, c, d] = [await store.claimRun('s', 'w', 60_000), await store.claimRun('s', 'w', 60_000), await store.claimRun('s', 'w', 60_000), await store.claimRun('s', 'w', 60_000)];
    await store.finishRun('s', a!.id, 'w');
    await store.failRun('s', b!.id, 'w', 'Error: boom');
    await store.releaseRun('s', c!.id, 'w');
    assert.deepEqual(await store.counts('s'), { pending: 1, running: 1, done: 1, failed: 1, total: 4 });
    const runs = await store.runs('s');
    assert.deepEqual(runs.map((r) => [r.status, r.error]), [['done', null], ['failed', 'Error: boom'], ['pending', null], ['running', null]]);
    assert.ok(runs[0]!.finishedAt !== null && runs[0]!.leaseUntil === null && runs[0]!.stage === null);
    assert.equal(await store.retryFailed('s'), 1);
    assert.equal(await store.retryFailed('s'), 0);
    assert.deepEqual((await store.claimRun('s', 'v', 60_000))!.id, b!.id, 'the retried run comes first in plan order');
    assert.equal(d!.id, 'run0003');
  });

  t('results are ordered the same way on every store (plan order, then byte order of names)', async (store) => {
    await store.syncStudy(fakePlan('s', 3));
    const runs = [await store.claimRun('s', 'w', 60_000), await store.claimRun('s', 'w', 60_000), await store.claimRun('s', 'w', 60_000)];
    // Written out of order; names whose order depends on collation (case, punctuation).
    const names = ['ab', 'aB', 'a-b', 'a_b', 'B', 'a'];
    for (const r of [runs[2]!, runs[0]!, runs[1]!]) {
      for (const cp of ['last', 'best', 'Best']) {
        await store.recordMeasurements('s', r.id, cp, names.map((measure) => ({ measure, value: 1, seconds: 0, error: null, perExample: null })));
      }
      for (const kind of ['last.pt', 'best.pt', 'Init.pt', 'metrics.jsonl']) await store.recordTrained('s', r.id, [{ kind, path: kind, sha256: '0', bytes: 1 }], 0);
      for (const e of [3, 1, 2]) await store.recordEpoch('s', r.id, e, {});
    }
    const bytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const expected = runs.flatMap((r) => ['Best', 'best', 'last'].flatMap((cp) => [...names].sort(bytes).map((m) => `${r!.id}/${cp}/${m}`)));
    assert.deepEqual((await store.measurements('s')).map((m) => `${m.runId}/${m.checkpoint}/${m.measure}`), expected);
    assert.deepEqual((await store.artifacts('s')).map((a) => `${a.runId}/${a.kind}`),
      runs.flatMap((r) => ['Init.pt', 'best.pt', 'last.pt', 'metrics.jsonl'].map((k) => `${r!.id}/${k}`)));
    assert.deepEqual((await store.epochs('s')).map((e) => `${e.runId}/${e.epoch}`), runs.flatMap((r) => [1, 2, 3].map((e) => `${r!.id}/${e}`)));
  });

  t('concurrent claims from many workers take every run exactly once', async (store, loc) => {
    const n = 60;
    await store.syncStudy(fakePlan('s', n));
    // Several stores on one location (separate connections or handles), each with several claimers.
    const others = [study.openStore(loc.location), study.openStore(loc.location), study.openStore(loc.location)];
    try {
      const claimed: string[] = [];
      const claimer = async (s: study.StudyStore, w: string) => {
        for (;;) {
          const r = await s.claimRun('s', w, 60_000);
          if (!r) return;
          claimed.push(r.id);
        }
      };
      await Promise.all([store, ...others].flatMap((s, i) => [0, 1, 2].map((k) => claimer(s, `w${i}.${k}`))));
      assert.equal(claimed.length, n, `${claimed.length} claims for ${n} runs`);
      assert.equal(new Set(claimed).size, n);
      assert.ok((await store.runs('s')).every((r) => r.attempts === 1 && r.status === 'running'));
    } finally {
      for (const s of others) await s.close();
    }
  });
}
