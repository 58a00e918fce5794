// robusta study on a real single-node Slurm (Debian slurm-wlm + munge) with a real PostgreSQL store,
// both started here and stopped after (scripts/test-services.sh). The tiny spec is submitted as a job
// array; one task is scancelled mid-run and another task's worker is killed with kill -9 mid-run. The
// study must still complete (the surviving tasks take the abandoned runs over once their leases
// lapse), no run may be trained to completion twice, and the PostgreSQL store must hold exactly what a
// local run into SQLite holds (measures bit for bit, weights, per-epoch metrics). Then status shows
// Slurm's task states, and cancel and resubmit-failed work on an edited spec.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { storeSnapshot } from './study-support.js';
import { study } from 'robusta';
import { startService } from './services.js';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const tinySpec = fileURLToPath(new URL('../../../../studies/tiny.yaml', import.meta.url));

const pgStarted = startService('postgres');
const slurmStarted = pgStarted.service ? startService('slurm') : null;
const skip = pgStarted.skip || slurmStarted!.skip;
after(() => {
  slurmStarted?.service?.stop();
  pgStarted.service?.stop();
});
const pgUrl = pgStarted.service?.values.PGURL ?? '';
const env = { ...process.env, SLURM_CONF: slurmStarted?.service?.values.SLURM_CONF ?? '' };

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 600_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const snapshot = (location: string) => storeSnapshot(location);

/** Waits until no task of the study's Slurm jobs is pending or running (asked in-process: a CLI call costs seconds here). */
async function waitForTasks(location: string, limitMs: number): Promise<{ counts: study.StatusCounts; slurm: study.slurm.SlurmStudyStatus }> {
  const t0 = Date.now();
  const store = study.openStore(location);
  try {
    for (;;) {
      const slurm = await study.slurm.slurmStatus(store, 'tiny', env);
      if (slurm.jobs.every((j) => j.live === 0)) return { counts: await store.counts('tiny'), slurm };
      assert.ok(Date.now() - t0 < limitMs, `Slurm tasks still live after ${limitMs / 1000} s: ${JSON.stringify(slurm.jobs)}`);
      await sleep(500);
    }
  } finally {
    await store.close();
  }
}

const phases: string[] = [];
let phaseStart = performance.now();
const phase = (name: string) => {
  phases.push(`${name} ${((performance.now() - phaseStart) / 1000).toFixed(1)} s`);
  phaseStart = performance.now();
};

test('robusta study on Slurm with PostgreSQL: scancel and kill -9 mid-run, the study completes with the store of a local SQLite run', { skip, timeout: 600_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-slurm-'));
  try {
    // The reference: the tiny spec run locally into SQLite.
    const local = cli(['study', 'run', tinySpec, '--dir', join(root, 'local'), '--json']);
    assert.equal(local.status, 0, local.stderr);
    const reference = await snapshot(join(root, 'local', 'store.sqlite'));
    assert.equal(reference.statuses.length, 4);
    phase('local run');

    // The same spec with a slurm section (it changes no run: the run ids must be those of the local run).
    const shared = join(root, 'shared');
    const spec = join(root, 'tiny.yaml');
    writeFileSync(spec, `${readFileSync(tinySpec, 'utf8')}slurm:\n  cpus_per_task: 1\n  time: '10:00'\n  mem: 2G\n  array_parallelism: 2\n  shared_dir: ${shared}\n`);
    const t0 = performance.now();
    const sub = cli(['study', 'run', spec, '--executor', 'slurm', '--store', pgUrl, '--lease', '6', '--json']);
    assert.equal(sub.status, 0, sub.stderr);
    const submitted = JSON.parse(sub.stdout) as study.slurm.SubmitResult & { store: string };
    assert.equal(submitted.tasks, 4, 'one task per run');
    assert.deepEqual(submitted.sync, { added: 4, kept: 0, retired: 0 });
    const script = readFileSync(submitted.script!, 'utf8');
    assert.match(script, /^#SBATCH --array=0-3%2$/m);
    assert.match(script, /^#SBATCH --mem=2G$/m);
    assert.match(script, / study worker postgres:\/\/robusta@127\.0\.0\.1:\d+\/robusta --study tiny --runs \S+\/shared\/runs --lease 6 --wait$/m);

    // Interrupt two runs mid-training: scancel the task of the first, kill -9 the worker of the second.
    const store = study.openStore(pgUrl);
    const interrupted = new Map<string, string>();
    let cancelledTask = '';
    let killedTask = '';
    try {
      for (let i = 0; i < 6000 && interrupted.size < 2; i++) {
        for (const r of await store.runs('tiny')) {
          if (r.status !== 'running' || !r.worker || interrupted.has(r.id) || [...interrupted.values()].includes(r.worker)) continue;
          const task = study.slurm.slurmTaskOf(r.worker);
          if (!task || (await store.epochs('tiny', r.id)).length < 1) continue;
          const name = `${task.job}_${task.task}`;
          if (!cancelledTask) {
            const c = spawnSync('scancel', [name], { env, encoding: 'utf8' });
            assert.equal(c.status, 0, c.stderr);
            cancelledTask = name;
          } else if (name !== cancelledTask) {
            process.kill(Number(r.worker.split(':')[1]), 'SIGKILL');
            killedTask = name;
          } else continue;
          interrupted.set(r.id, r.worker);
          break;
        }
        await sleep(20);
      }
    } finally {
      await store.close();
    }
    assert.equal(interrupted.size, 2, 'could not catch two runs mid-training');

    const final = await waitForTasks(pgUrl, 300_000);
    const seconds = (performance.now() - t0) / 1000;
    phase('slurm run');
    console.log(`# Slurm run of the tiny study with 2 interruptions: ${seconds.toFixed(1)} s (local: ${(JSON.parse(local.stdout) as { seconds: number }).seconds.toFixed(1)} s)`);
    assert.deepEqual(final.counts, { pending: 0, running: 0, done: 4, failed: 0, total: 4 });
    const job = final.slurm.jobs[0]!;
    const stateOf = (name: string) => job.states[Number(name.split('_')[1])];
    assert.equal(stateOf(cancelledTask), 'CANCELLED');
    assert.equal(stateOf(killedTask), 'FAILED');
    assert.equal(job.states.filter((s) => s === 'COMPLETED').length, 2, `task states ${job.states.join(', ')}`);

    // No run trained twice: each run is reported done once across all task logs, the workers' done lists
    // are disjoint, and only the two interrupted runs were claimed a second time.
    const logs = readdirSync(join(shared, 'slurm')).filter((f) => f.endsWith('.out')).map((f) => readFileSync(join(shared, 'slurm', f), 'utf8'));
    assert.equal(logs.length, 4);
    const runs = await (async () => {
      const s = study.openStore(pgUrl);
      try {
        return await s.runs('tiny');
      } finally {
        await s.close();
      }
    })();
    const doneLists = logs.flatMap((l) => l.split('\n').filter((x) => x.startsWith('{"worker"')).map((x) => (JSON.parse(x) as { done: string[] }).done));
    assert.equal(doneLists.length, 2, 'the two surviving tasks printed their summaries');
    assert.deepEqual(doneLists.flat().sort(), runs.map((r) => r.id).sort(), 'every run finished exactly once');
    for (const r of runs) {
      const doneLines = logs.join('\n').split('\n').filter((l) => l.includes(`run ${r.id}: done`)).length;
      assert.equal(doneLines, 1, `run ${r.id} reported done ${doneLines} times`);
      assert.equal(r.attempts, interrupted.has(r.id) ? 2 : 1, `run ${r.id}: ${r.attempts} claims`);
    }
    const waits = logs.join('\n').split('\n').filter((l) => /lease not renewed for \d+ s, waiting to take over/.test(l)).length;
    console.log(`# task logs: ${waits} wait(s) for an abandoned lease (0 when the leases had lapsed before the survivors looked)`);

    // The PostgreSQL store equals the local SQLite store.
    assert.deepEqual(await snapshot(pgUrl), reference);

    phase('checks');
    // Status in words: Slurm's states next to the store's.

    const text = cli(['study', 'status', pgUrl]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /tiny: \[#+\] 4\/4 done/);
    assert.match(text.stdout, new RegExp(`slurm job ${job.jobId} \\(4 tasks, submitted [^)]+\\): 2 COMPLETED, 1 (CANCELLED|FAILED), 1 (CANCELLED|FAILED)`));

    // Nothing left: resubmit-failed submits nothing.
    const pg = study.openStore(pgUrl);
    try {
      const none = await study.slurm.resubmitFailed(pg, 'tiny', { env });
      assert.deepEqual([none.jobId, none.retried, none.reclaimed, none.claimable], [null, 0, 0, 0]);
    } finally {
      await pg.close();
    }

    // An edited spec: two new runs submitted, the job cancelled at once, then resubmitted and completed.
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('seed: [0, 1]', 'seed: [0, 1, 2]'));
    const more = cli(['study', 'run', spec, '--executor', 'slurm', '--store', pgUrl, '--lease', '6', '--json']);
    assert.equal(more.status, 0, more.stderr);
    const moreJob = JSON.parse(more.stdout) as study.slurm.SubmitResult;
    assert.deepEqual([moreJob.tasks, moreJob.sync], [2, { added: 2, kept: 4, retired: 0 }]);
    phase('resubmit nothing, submit two');
    const cancel = cli(['study', 'cancel', spec, '--store', pgUrl, '--json']);
    assert.equal(cancel.status, 0, cancel.stderr);
    // A tiny run can finish in the seconds between submission and the cancel: its task then reads
    // COMPLETED and only the others are cancelled (or none, when both finished first).
    const cancelled = (JSON.parse(cancel.stdout) as { cancelled: string[] }).cancelled;
    assert.ok(cancelled.length === 0 || (cancelled.length === 1 && cancelled[0] === moreJob.jobId), `cancelled: ${cancelled.join(', ')}`);
    const afterCancel = await waitForTasks(pgUrl, 60_000);
    const states = afterCancel.slurm.jobs.at(-1)!.states;
    assert.ok(states.every((s) => s === 'CANCELLED' || s === 'COMPLETED') && (cancelled.length === 0) === states.every((s) => s === 'COMPLETED'),
      `after cancel: ${states.join(', ')} (cancelled: ${cancelled.join(', ') || 'none'})`);
    assert.equal(afterCancel.counts.running, 0, 'runs of cancelled tasks are not left running');
    phase('cancel');
    const resub = cli(['study', 'resubmit-failed', spec, '--store', pgUrl, '--lease', '6', '--json']);
    assert.equal(resub.status, 0, resub.stderr);
    const again = JSON.parse(resub.stdout) as study.slurm.ResubmitResult;
    assert.equal(again.claimable, afterCancel.counts.pending, 'the runs the cancelled job left');
    assert.equal(again.claimable, 6 - afterCancel.counts.done);
    assert.equal(again.tasks, again.claimable);
    const end = await waitForTasks(pgUrl, 300_000);
    phase('resubmit and run');
    assert.deepEqual(end.counts, { pending: 0, running: 0, done: 6, failed: 0, total: 6 });
    assert.equal(end.slurm.jobs.length, again.claimable > 0 ? 3 : 2, 'resubmit-failed submits a job only for claimable runs');
    const after = await snapshot(pgUrl);
    for (const line of reference.measurements) assert.ok(after.measurements.includes(line), `lost ${line}`);
    phase('final checks');
    console.log(`# phases: ${phases.join(', ')}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('robusta study run --executor slurm: usage errors name the problem', () => {
  const bad = cli(['study', 'run', tinySpec, '--executor', 'pbs']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown executor 'pbs' \(local, slurm\)/);
  const workers = cli(['study', 'run', tinySpec, '--executor', 'slurm', '--workers', '2', '--dir', join(tmpdir(), 'robusta-never')]);
  assert.equal(workers.status, 2);
  assert.match(workers.stderr, /--workers is for the local executor/);
  assert.ok(!existsSync(join(tmpdir(), 'robusta-never', 'slurm')));
});
