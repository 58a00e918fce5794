// The Slurm executor's parts: the spec's slurm section (line-numbered errors; it changes no run id),
// the sbatch script (run through bash), the parsers of squeue/sacct/scontrol output (samples in the
// formats Slurm 22.05 prints), a task's decision to wait for an abandoned lease or to leave, and — on
// a real single-node Slurm started here — submit, task states, cancel and resubmit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as study from '../../src/study/index.js';
import { startService } from './services.js';
import { fakePlan } from './store-contract.js';

const { slurm } = study;
const tinySpec = fileURLToPath(new URL('../../../../../studies/tiny.yaml', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('spec: the slurm section is validated with the line of each mistake and changes no run', () => {
  const tiny = readFileSync(tinySpec, 'utf8');
  const withSlurm = `${tiny}slurm:\n  partition: gpu\n  gpus: 1\n  cpus_per_task: 8\n  mem: 32G\n  time: '1-12:00:00'\n  array_parallelism: 16\n  runs_per_task: 2\n  shared_dir: /shared/x\n  setup: module load cuda\n`;
  const spec = study.parseStudySpec(withSlurm, 'x.yaml');
  assert.deepEqual(spec.slurm, { partition: 'gpu', gpus: 1, cpus_per_task: 8, mem: '32G', time: '1-12:00:00', array_parallelism: 16, runs_per_task: 2, shared_dir: '/shared/x', setup: 'module load cuda' });
  const a = study.planStudy(study.parseStudySpec(tiny, 'tiny.yaml'));
  const b = study.planStudy(spec);
  assert.deepEqual(b.runs.map((r) => r.id), a.runs.map((r) => r.id));
  assert.equal(b.hash, a.hash);
  assert.deepEqual(slurm.resourcesFromSpec(spec.slurm), { partition: 'gpu', account: undefined, gpus: 1, cpusPerTask: 8, mem: '32G', time: '1-12:00:00', arrayParallelism: 16, runsPerTask: 2, sharedDir: '/shared/x', setup: 'module load cuda' });

  const lines = tiny.split('\n').length;
  const bad = `${tiny}slurm:\n  gpus: -1\n  time: forever\n  mem: lots\n  nodes: 2\n`;
  assert.throws(() => study.parseStudySpec(bad, 'bad.yaml'), (e: study.StudySpecError) => {
    assert.equal(e.problems.length, 4, e.message);
    assert.match(e.problems[0]!, new RegExp(`^bad\\.yaml:${lines + 1}:9: slurm\\.gpus: `));
    assert.match(e.problems[1]!, new RegExp(`^bad\\.yaml:${lines + 2}:9: slurm\\.time: .*HH:MM:SS`));
    assert.match(e.problems[2]!, new RegExp(`^bad\\.yaml:${lines + 3}:8: slurm\\.mem: .*16G`));
    assert.match(e.problems[3]!, new RegExp(`^bad\\.yaml:${lines + 4}:3: slurm: unknown field 'nodes' \\(fields: partition, .*shared_dir`));
    return true;
  });
  for (const ok of ['30', '30:00', '12:00:00', '2-0', '2-12:30', '2-12:30:15']) study.parseStudySpec(`${tiny}slurm:\n  time: '${ok}'\n`);
  study.parseStudySpec(`${tiny}slurm:\n  time: 90\n  mem: 4000\n`);
});

test('sbatch script: directives from the resources, the worker command quoted for bash', () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-sbatch-'));
  try {
    const nasty = `it's a "path" with $HOME and spaces`;
    const text = slurm.sbatchScript({
      jobName: 'robusta-tiny', tasks: 5, logDir: '/shared/slurm', workDir: '/shared',
      resources: { partition: 'gpu', account: 'lab', gpus: 2, cpusPerTask: 8, mem: '32G', time: '12:00:00', arrayParallelism: 3, setup: 'echo setup-ran' },
      env: { ROBUSTA_NUM_THREADS: '8' },
      command: ['printf', '%s\\n', 'study', 'worker', nasty, '--wait'],
    });
    for (const line of ['#SBATCH --job-name=robusta-tiny', '#SBATCH --array=0-4%3', '#SBATCH --partition=gpu', '#SBATCH --account=lab', '#SBATCH --gres=gpu:2',
      '#SBATCH --cpus-per-task=8', '#SBATCH --mem=32G', '#SBATCH --time=12:00:00', '#SBATCH --output=/shared/slurm/%x-%A_%a.out', '#SBATCH --chdir=/shared']) {
      assert.ok(text.split('\n').includes(line), `missing ${line}\n${text}`);
    }
    // Every #SBATCH line comes before the first command (sbatch stops reading directives there).
    const ls = text.split('\n');
    const lastDirective = ls.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
    assert.ok(lastDirective > 0 && lastDirective < ls.findIndex((l) => l !== '' && !l.startsWith('#')));
    const script = join(root, 'job.sbatch');
    writeFileSync(script, text);
    const r = spawnSync('bash', [script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), ['setup-ran', 'study', 'worker', nasty, '--wait', '']);
    const minimal = slurm.sbatchScript({ jobName: 'j', tasks: 1, logDir: '/l', workDir: '/w', resources: {}, env: {}, command: ['true'] });
    assert.ok(minimal.includes('#SBATCH --array=0-0\n') && !/--gres|--partition|--mem|--time/.test(minimal));
    assert.throws(() => slurm.sbatchScript({ jobName: 'j', tasks: 0, logDir: '/l', workDir: '/w', resources: {}, env: {}, command: ['true'] }), RangeError);
    assert.throws(() => slurm.sbatchScript({ jobName: 'j', tasks: 1, logDir: '/l', workDir: '/w', resources: { partition: 'a b' }, env: {}, command: ['true'] }), /spaces or quotes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('task states: squeue, sacct and scontrol output, array ranges, precedence, worker ids', () => {
  assert.deepEqual(slurm.expandTaskIds('[0-5%2]'), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(slurm.expandTaskIds('1,4-8:2'), [1, 4, 6, 8]);
  assert.deepEqual(slurm.expandTaskIds('7'), [7]);
  const squeue = slurm.parseJobStateLines('12_0|RUNNING\n12_3|PENDING\n13|PENDING\n');
  assert.deepEqual([...squeue.get('12')!], [[0, 'RUNNING'], [3, 'PENDING']]);
  assert.deepEqual([...squeue.get('13')!], [[0, 'PENDING']]);
  const sacct = slurm.parseJobStateLines('12_0|COMPLETED\n12_0.batch|COMPLETED\n12_1|CANCELLED by 0\n12_[2-3%2]|PENDING\n12_4|OUT_OF_MEMORY\n');
  assert.deepEqual([...sacct.get('12')!].sort(), [[0, 'COMPLETED'], [1, 'CANCELLED'], [2, 'PENDING'], [3, 'PENDING'], [4, 'OUT_OF_MEMORY']]);
  const scontrol = slurm.parseScontrolJobs([
    'JobId=2 ArrayJobId=1 ArrayTaskId=0 ArrayTaskThrottle=2 JobName=j.sh UserId=root(0) JobState=COMPLETED Reason=None ExitCode=0:0',
    'JobId=3 ArrayJobId=1 ArrayTaskId=1 ArrayTaskThrottle=2 JobName=j.sh JobState=FAILED Reason=NonZeroExitCode ExitCode=0:9',
    'JobId=1 ArrayJobId=1 ArrayTaskId=2-4%2 ArrayTaskThrottle=2 JobName=j.sh JobState=PENDING Reason=JobArrayTaskLimit',
    'JobId=9 JobName=single JobState=TIMEOUT Reason=TimeLimit',
  ].join('\n'));
  assert.deepEqual([...scontrol.get('1')!], [[0, 'COMPLETED'], [1, 'FAILED'], [2, 'PENDING'], [3, 'PENDING'], [4, 'PENDING']]);
  assert.deepEqual([...scontrol.get('9')!], [[0, 'TIMEOUT']]);
  // squeue is freshest, then sacct, then scontrol.
  const merged = slurm.mergeStates(slurm.parseJobStateLines('1_2|RUNNING'), slurm.parseJobStateLines('1_1|NODE_FAIL'), scontrol);
  assert.deepEqual([...merged.get('1')!].sort(), [[0, 'COMPLETED'], [1, 'NODE_FAIL'], [2, 'RUNNING'], [3, 'PENDING'], [4, 'PENDING']]);
  assert.deepEqual(slurm.summariseTasks(merged.get('1'), 6), { COMPLETED: 1, NODE_FAIL: 1, RUNNING: 1, PENDING: 2, UNKNOWN: 1 });
  assert.ok(slurm.isLiveState('PENDING') && slurm.isLiveState('RUNNING') && !slurm.isLiveState('CANCELLED') && !slurm.isLiveState(undefined));

  assert.deepEqual(slurm.slurmTaskOf('node7:4242:slurm=88_3'), { job: '88', task: 3 });
  assert.deepEqual(slurm.slurmTaskOf('node7:4242:slurm=90'), { job: '90', task: 0 });
  assert.equal(slurm.slurmTaskOf('node7:4242'), null);
  assert.equal(slurm.slurmWorkerSuffix({ SLURM_JOB_ID: '91', SLURM_ARRAY_JOB_ID: '88', SLURM_ARRAY_TASK_ID: '3' }), ':slurm=88_3');
  assert.equal(slurm.slurmWorkerSuffix({ SLURM_JOB_ID: '90' }), ':slurm=90');
  assert.equal(slurm.slurmWorkerSuffix({}), null);
  const dead = slurm.deadWorkerTest(merged);
  assert.equal(dead('elsewhere:1:slurm=1_2'), false, 'a running task');
  assert.equal(dead('elsewhere:1:slurm=1_1'), true, 'a failed node');
  assert.equal(dead('elsewhere:1:slurm=1_5'), true, 'a task Slurm does not know');
  assert.equal(dead('elsewhere:1'), false, 'a local worker of another host cannot be judged');
  assert.equal(dead(`${hostname()}:${process.pid}`), false, 'this process');
});

/** A SQLite store with one run held by `holder`, its lease renewed by `renewEvery` ms (or never). */
async function heldRun(holder: string, leaseMs: number, renewEvery: number | null) {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-task-'));
  const store = study.openStore(join(dir, 'store.sqlite'));
  await store.syncStudy(fakePlan('s', 1));
  const run = await store.claimRun('s', holder, leaseMs);
  const timer = renewEvery === null ? null : setInterval(() => void store.renewLease('s', run!.id, holder, leaseMs), renewEvery);
  return {
    store, dir, run: run!,
    close: async () => {
      if (timer) clearInterval(timer);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a task waits for a lease nobody renews and takes the run over', { timeout: 60_000 }, async () => {
  const h = await heldRun('ghost:1:slurm=9_0', 1500, null);
  try {
    const lines: string[] = [];
    const s = await slurm.runSlurmTask({ store: h.store, study: 's', runsDir: h.dir, worker: 'task:2', leaseMs: 1500, watchMs: 500, log: (l) => lines.push(l) });
    // The fake run has no weights file: the takeover ends in a recorded failure, which is what shows it was taken.
    assert.deepEqual(s.failed, [h.run.id]);
    assert.ok(s.waits >= 1);
    assert.ok(lines.some((l) => l.includes('lease not renewed')), lines.join('\n'));
    const [r] = await h.store.runs('s');
    assert.deepEqual([r!.worker, r!.attempts, r!.status], ['task:2', 2, 'failed']);
  } finally {
    await h.close();
  }
});

test('a task leaves when the only runs left are held by live workers', { timeout: 60_000 }, async () => {
  const h = await heldRun('alive:1', 1500, 200);
  try {
    const t0 = performance.now();
    const s = await slurm.runSlurmTask({ store: h.store, study: 's', runsDir: h.dir, worker: 'task:2', leaseMs: 1500, watchMs: 600 });
    const ms = performance.now() - t0;
    assert.deepEqual([s.done, s.failed, s.lost, s.waits], [[], [], [], 0]);
    assert.ok(ms >= 550 && ms < 3000, `left after ${ms.toFixed(0)} ms (one watch of 600 ms expected)`);
    const [r] = await h.store.runs('s');
    assert.deepEqual([r!.worker, r!.attempts], ['alive:1', 1]);
  } finally {
    await h.close();
  }
});

const slurmStarted = startService('slurm');
after(() => slurmStarted.service?.stop());
const env = { ...process.env, SLURM_CONF: slurmStarted.service?.values.SLURM_CONF ?? '' };

test('on a real Slurm: submit records the job, task states are read, cancel frees runs, resubmit submits what is claimable', { skip: slurmStarted.skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-slurm-exec-'));
  const store = study.openStore(join(dir, 'store.sqlite'));
  const states = async () => (await slurm.slurmStatus(store, 's', env)).jobs.at(-1)!.states;
  try {
    const sub: study.slurm.SlurmSubmission = {
      resources: { cpusPerTask: 1, arrayParallelism: 1, time: 5 }, sharedDir: join(dir, 'shared'), storeLocation: join(dir, 'store.sqlite'),
      // A stand-in worker: bash ignores the worker arguments appended after $0.
      workerCommand: ['bash', '-c', 'sleep 60', 'stand-in'], leaseSeconds: 60, threads: 1,
    };
    const r = await slurm.submitStudy(store, 's', sub, { plan: fakePlan('s', 3), env });
    assert.deepEqual([r.claimable, r.tasks, r.sync], [3, 3, { added: 3, kept: 0, retired: 0 }]);
    assert.match(readFileSync(r.script!, 'utf8'), /^exec bash -c 'sleep 60' stand-in study worker \S+store\.sqlite --study s --runs \S+\/shared\/runs --lease 60 --wait$/m);
    const jobs = await store.jobs('s', 'slurm');
    assert.deepEqual(jobs.map((j) => [j.jobId, j.tasks, (j.info as { leaseSeconds: number }).leaseSeconds]), [[r.jobId, 3, 60]]);
    let s: string[] = [];
    for (let i = 0; i < 100 && s[0] !== 'RUNNING'; i++, await sleep(200)) s = await states();
    assert.deepEqual(s, ['RUNNING', 'PENDING', 'PENDING'], 'throttled to one task at a time');
    // Task 0 "holds" a run; cancelling the study frees it.
    const held = await store.claimRun('s', `${hostname()}:999999:slurm=${r.jobId}_0`, 60_000);
    assert.ok(held);
    const status = await slurm.slurmStatus(store, 's', env);
    assert.deepEqual(status.holders, { [held.id]: 'RUNNING' });
    const c = await slurm.cancelStudy(store, 's', env);
    assert.deepEqual(c, { cancelled: [r.jobId], released: 1 });
    for (let i = 0; i < 100 && !s.every((x) => x === 'CANCELLED'); i++, await sleep(200)) s = await states();
    assert.deepEqual(s, ['CANCELLED', 'CANCELLED', 'CANCELLED']);
    // One run failed, one held by the cancelled task (as if the release had not happened), one pending.
    const a = await store.claimRun('s', 'w', 60_000);
    await store.failRun('s', a!.id, 'w', 'Error: boom');
    await store.claimRun('s', `${hostname()}:999999:slurm=${r.jobId}_1`, 60_000);
    const again = await slurm.resubmitFailed(store, 's', { env });
    assert.deepEqual([again.retried, again.reclaimed, again.claimable, again.tasks], [1, 1, 3, 3]);
    assert.notEqual(again.jobId, r.jobId);
    assert.equal((await store.jobs('s')).length, 2);
    assert.deepEqual((await slurm.cancelStudy(store, 's', env)).cancelled, [again.jobId]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
