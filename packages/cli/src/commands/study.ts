// robusta study run|status|report|retry|worker|cancel|resubmit-failed: a grid of trainings and
// measures from one spec, kept in a store (a SQLite file, or PostgreSQL for many machines), run on
// local worker processes or as a Slurm job array, resumable after any interruption, ending in a report.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { report, study } from 'robusta';
import { parse, parseInteger, UsageError } from '../args.js';

export const usage = `robusta study <run|status|report|retry|worker|cancel|resubmit-failed> ...
  robusta study run SPEC [--dir DIR] [--store FILE|URL] [--workers N] [--threads N] [--json]
      expand the spec, train and measure every run on a pool of local workers (re-run to resume)
  robusta study run SPEC --executor slurm [--store URL] [--lease S] [--wait] [--json]
      submit a Slurm job array (resources from the spec's slurm section), one study worker per task
  robusta study status SPEC|STORE [--study NAME] [--json]     done / running / failed / pending, ETA,
      and the state of every Slurm task of the study
  robusta study report SPEC|STORE --out DIR [--study NAME] [--bootstrap N] [--json]
      τ table per measure (overall, per defense, granulated per axis) and plots: index.html, PNG, SVG
  robusta study retry SPEC|STORE [--study NAME]               failed runs back to pending
  robusta study cancel SPEC|STORE [--study NAME]              scancel the study's Slurm jobs
  robusta study resubmit-failed SPEC|STORE [--study NAME]     failed runs and runs of dead tasks to a new job array
  robusta study worker STORE --study NAME [--runs DIR] [--lease S] [--wait]
      claim and execute runs (what each Slurm task runs; --wait: take over runs of dead workers)
  SPEC: a YAML or JSON study spec (see studies/*.yaml). DIR: --dir, else the spec's slurm.shared_dir,
  else runs/studies/<name> (store.sqlite and one folder per run). STORE: a SQLite file or a
  postgres://user@host:port/database URL (password from PGPASSWORD or ~/.pgpass).`;

const isSpecPath = (p: string): boolean => /\.(ya?ml|json)$/i.test(p);

interface Located {
  storePath: string;
  /** The study's folder (runs/, slurm/, the default SQLite store); null for a URL without a spec. */
  dir: string | null;
  runsDir: string;
  plan: study.StudyPlan | null;
  spec: study.StudySpec | null;
  studyName: string | null;
}

/** The store (and plan) a SPEC or STORE argument names. */
function locate(target: string | undefined, o: Record<string, unknown>): Located {
  if (!target) throw new UsageError('give a study spec (.yaml/.json), a store file or a postgres:// URL');
  if (isSpecPath(target)) {
    const spec = study.readStudySpec(target);
    const plan = study.planStudy(spec, study.specDirOf(target));
    const shared = spec.slurm?.shared_dir === undefined ? undefined : resolve(study.specDirOf(target), spec.slurm.shared_dir);
    const dir = (o.dir as string | undefined) ?? shared ?? join('runs', 'studies', plan.name);
    return { storePath: (o.store as string | undefined) ?? join(dir, 'store.sqlite'), dir, runsDir: resolve(dir, 'runs'), plan, spec, studyName: plan.name };
  }
  if (study.isPostgresUrl(target)) {
    const dir = (o.dir as string | undefined) ?? null;
    return { storePath: target, dir, runsDir: resolve(dir ?? '.', 'runs'), plan: null, spec: null, studyName: (o.study as string | undefined) ?? null };
  }
  if (!existsSync(target)) throw new UsageError(`no such store file: ${target}`);
  return { storePath: target, dir: resolve(target, '..'), runsDir: resolve(target, '..', 'runs'), plan: null, spec: null, studyName: (o.study as string | undefined) ?? null };
}

/** Fails early when a SQLite store does not exist yet (a URL always names a store). */
function requireStore(where: Located): void {
  if (!study.isPostgresUrl(where.storePath) && !existsSync(where.storePath)) throw new UsageError(`the study has no store yet (${where.storePath}): run it first`);
}

/**
 * Worker processes (local pool, Slurm tasks) get the store's location without its password: a
 * password given in the URL travels in PGPASSWORD, which they inherit (sbatch exports the environment).
 */
function passPasswordToWorkers(url: string): void {
  if (!study.isPostgresUrl(url) || process.env.PGPASSWORD !== undefined) return;
  try {
    const password = new URL(url).password;
    if (password) process.env.PGPASSWORD = decodeURIComponent(password);
  } catch {
    // openStore reports a bad URL
  }
}

async function studyName(store: study.StudyStore, given: string | null): Promise<string> {
  if (given) return given;
  const names = await store.studies();
  if (names.length === 1) return names[0]!;
  throw new UsageError(names.length === 0 ? `the store ${store.location} holds no study` : `the store holds several studies (${names.join(', ')}): pass --study NAME`);
}

const bar = (c: study.StatusCounts, width = 30): string => {
  const done = Math.round((width * c.done) / Math.max(1, c.total));
  const failed = Math.round((width * c.failed) / Math.max(1, c.total));
  return `[${'#'.repeat(done)}${'!'.repeat(failed)}${'.'.repeat(Math.max(0, width - done - failed))}]`;
};
const duration = (s: number | null): string => (s === null || !Number.isFinite(s) ? '?' : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
const countsLine = (c: study.StatusCounts): string => `${c.done}/${c.total} done, ${c.running} running, ${c.failed} failed, ${c.pending} pending`;

async function runCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), {
    dir: { type: 'string' }, store: { type: 'string' }, workers: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' },
    executor: { type: 'string' }, lease: { type: 'string' }, wait: { type: 'boolean' },
  });
  const target = argv[0];
  if (!target || !isSpecPath(target)) throw new UsageError('study run needs a spec file (.yaml, .yml or .json)');
  const executor = (o.executor as string | undefined) ?? 'local';
  if (executor !== 'local' && executor !== 'slurm') throw new UsageError(`unknown executor '${executor}' (local, slurm)`);
  const where = locate(target, o);
  passPasswordToWorkers(where.storePath);
  if (executor === 'slurm') return slurmRunCommand(where, o);
  if (o.wait || o.lease) throw new UsageError('--wait and --lease go with --executor slurm');
  const plan = where.plan!;
  const store = study.openStore(where.storePath);
  const tty = process.stderr.isTTY && !o.json;
  let lastLine = 0;
  try {
    const workers = o.workers === undefined ? undefined : parseInteger('workers', o.workers as string, undefined, 1);
    const threads = o.threads === undefined ? undefined : parseInteger('threads', o.threads as string, undefined, 1);
    const p = study.defaultParallelism(plan, { workers, threads });
    if (!o.json) console.error(`${study.describePlan(plan)}\nstore ${where.storePath}; ${p.workers} worker(s) × ${p.threads} thread(s)`);
    const summary = await study.runStudyLocal({
      store, plan, runsDir: where.runsDir, workers, threads,
      onLog: o.json ? undefined : (line) => {
        if (tty) process.stderr.write('\r\x1b[2K');
        process.stderr.write(`${line}\n`);
      },
      onProgress: (s) => {
        const line = `${bar(s.counts)} ${countsLine(s.counts)} · ${duration(s.elapsedSeconds)} elapsed · ETA ${duration(s.etaSeconds)}`;
        if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        else if (!o.json && Date.now() - lastLine > 10_000) {
          lastLine = Date.now();
          process.stderr.write(`${line}\n`);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    if (o.json) {
      console.log(JSON.stringify({ study: plan.name, store: where.storePath, ...summary }));
    } else {
      console.log(`${plan.name}: ${countsLine(summary.counts)} (${summary.sync.added} new runs, ${summary.sync.kept} kept, ` +
        `${summary.sync.retired} retired, ${summary.reclaimed} reclaimed) in ${duration(summary.seconds)}`);
      if (summary.counts.failed > 0) console.log(`failed runs: robusta study status ${target}; retry them with robusta study retry ${target}`);
      console.log(`report: robusta study report ${where.storePath} --out ${join(where.dir ?? '.', 'report')}`);
    }
    if (summary.counts.failed > 0) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

/** The study's Slurm jobs and task states; null when it has none; an error message when Slurm cannot be asked. */
async function slurmStatusOf(store: study.StudyStore, name: string): Promise<study.slurm.SlurmStudyStatus | null | string> {
  if ((await store.jobs(name, study.slurm.SLURM)).length === 0) return null;
  try {
    return await study.slurm.slurmStatus(store, name);
  } catch (e) {
    if (e instanceof study.slurm.SlurmError) return e.message;
    throw e;
  }
}

const stateSummary = (summary: Record<string, number>): string => Object.entries(summary).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`).join(', ');

async function statusCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), { dir: { type: 'string' }, store: { type: 'string' }, study: { type: 'string' }, json: { type: 'boolean' } });
  const where = locate(argv[0], o);
  requireStore(where);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const counts = await store.counts(name);
    const runs = await store.runs(name);
    const finished = runs.filter((r) => r.status === 'done').map((r) => (r.trainSeconds ?? 0) + (r.measureSeconds ?? 0));
    const perRun = finished.length ? finished.reduce((a, b) => a + b, 0) / finished.length : null;
    const eta = perRun === null ? null : perRun * (counts.pending + counts.running);
    const slurm = await slurmStatusOf(store, name);
    const holders = typeof slurm === 'object' && slurm !== null ? slurm.holders : {};
    if (o.json) {
      console.log(JSON.stringify({ study: name, counts, secondsPerRun: perRun, etaSeconds: eta, runs: runs.map((r) => ({
        id: r.id, settings: r.settings, status: r.status, stage: r.stage, worker: r.worker, attempts: r.attempts, error: r.error,
        trainSeconds: r.trainSeconds, measureSeconds: r.measureSeconds, slurmState: holders[r.id] ?? null,
      })), slurm: typeof slurm === 'string' ? { error: slurm } : slurm }));
      return;
    }
    console.log(`${name}: ${bar(counts)} ${countsLine(counts)}; ${duration(perRun)} per run; ETA ${duration(eta)} (one worker)`);
    if (typeof slurm === 'string') console.log(`slurm: ${slurm}`);
    else if (slurm) {
      for (const j of slurm.jobs) console.log(`slurm job ${j.jobId} (${j.tasks} task${j.tasks === 1 ? '' : 's'}, submitted ${j.submittedAt}): ${stateSummary(j.summary)}`);
    }
    for (const r of runs) {
      const what = Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(' ');
      const held = holders[r.id] ? `, slurm task ${holders[r.id]}` : '';
      const extra = r.status === 'failed' ? `  ${r.error}` : r.status === 'running' ? `  ${r.stage ?? ''} (${r.worker}${held})` : '';
      console.log(`  ${r.id}  ${r.status.padEnd(7)}  ${what}${extra}`);
    }
  } finally {
    await store.close();
  }
}

async function reportCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), {
    dir: { type: 'string' }, store: { type: 'string' }, study: { type: 'string' }, out: { type: 'string' }, bootstrap: { type: 'string' }, json: { type: 'boolean' },
  });
  const where = locate(argv[0], o);
  requireStore(where);
  if (o.out === undefined && where.dir === null) throw new UsageError('give --out DIR (the store is a URL)');
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const bootstrapSamples = o.bootstrap === undefined ? undefined : parseInteger('bootstrap', o.bootstrap as string, undefined, 0);
    const data = await study.analyseStudy(store, name, { bootstrapSamples });
    if (data.models.length === 0) throw new UsageError(`study '${name}' has no measured model yet`);
    const out = (o.out as string | undefined) ?? join(where.dir!, 'report');
    const files = await report.writeReport(data, out);
    if (o.json) {
      console.log(JSON.stringify({ study: name, out, files, tau: report.tauTableJson(data) }));
      return;
    }
    console.log(report.renderTauTableText(data));
    console.log(`\nreport: ${join(out, 'index.html')} (${data.models.length} models)`);
  } finally {
    await store.close();
  }
}

async function retryCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), { dir: { type: 'string' }, store: { type: 'string' }, study: { type: 'string' } });
  const where = locate(argv[0], o);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    console.log(`${await store.retryFailed(name)} failed run(s) of ${name} are pending again`);
  } finally {
    await store.close();
  }
}

async function workerCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), {
    study: { type: 'string' }, runs: { type: 'string' }, lease: { type: 'string' }, 'max-runs': { type: 'string' }, wait: { type: 'boolean' },
  });
  const where = locate(argv[0], o);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const options = {
      store, study: name, runsDir: (o.runs as string | undefined) ?? where.runsDir, worker: study.slurm.taskWorkerId(),
      leaseMs: o.lease === undefined ? undefined : 1000 * parseInteger('lease', o.lease as string, undefined, 1),
      maxRuns: o['max-runs'] === undefined ? undefined : parseInteger('max-runs', o['max-runs'] as string, undefined, 1),
      log: (line: string) => console.error(`[${new Date().toISOString()} ${study.slurm.taskWorkerId()}] ${line}`),
    };
    const s = o.wait ? await study.slurm.runSlurmTask(options) : await study.runWorker(options);
    console.log(JSON.stringify({ worker: options.worker, ...s }));
    if (s.failed.length > 0) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

/** What the Slurm tasks of this spec need (resources, folders, store, threads, lease). */
function slurmSubmission(where: Located, store: study.StudyStore, o: Record<string, unknown>): study.slurm.SlurmSubmission {
  const spec = where.spec!;
  const resources = study.slurm.resourcesFromSpec(spec.slurm);
  const threads = o.threads === undefined ? undefined : parseInteger('threads', o.threads as string, undefined, 1);
  return {
    resources,
    sharedDir: resolve(where.dir!),
    storeLocation: study.isPostgresUrl(where.storePath) ? store.location : resolve(where.storePath),
    workerCommand: [process.execPath, resolve(process.argv[1]!)],
    leaseSeconds: o.lease === undefined ? 600 : parseInteger('lease', o.lease as string, undefined, 1),
    threads: threads ?? where.plan!.execution.threads ?? resources.cpusPerTask ?? 1,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function slurmRunCommand(where: Located, o: Record<string, unknown>): Promise<void> {
  if (o.workers !== undefined) throw new UsageError('--workers is for the local executor: a Slurm job array has one worker per task');
  const plan = where.plan!;
  if (!study.isPostgresUrl(where.storePath) && !o.json) {
    console.error(`note: the SQLite store ${where.storePath} works only where every task sees the file and its locks (one node); use --store postgres://… across nodes`);
  }
  const store = study.openStore(where.storePath);
  try {
    const sub = slurmSubmission(where, store, o);
    const r = await study.slurm.submitStudy(store, plan.name, sub, { plan });
    if (o.json && !o.wait) {
      console.log(JSON.stringify({ study: plan.name, store: store.location, executor: 'slurm', ...r }));
      return;
    }
    if (!o.json) {
      console.error(`${study.describePlan(plan)}\nstore ${store.location}; runs in ${join(sub.sharedDir, 'runs')}`);
      console.log(r.jobId === null
        ? `${plan.name}: nothing to submit (${countsLine(await store.counts(plan.name))})`
        : `${plan.name}: submitted Slurm job ${r.jobId} (${r.tasks} task${r.tasks === 1 ? '' : 's'} for ${r.claimable} claimable run${r.claimable === 1 ? '' : 's'}); ` +
          `script ${r.script}; task logs in ${join(sub.sharedDir, 'slurm')}`);
    }
    if (!o.wait) {
      console.log(`follow it: robusta study status ${store.location}${where.studyName ? ` --study ${plan.name}` : ''}`);
      return;
    }
    // --wait: until no task of the study's jobs is pending or running.
    let last = '';
    let counts = await store.counts(plan.name);
    for (;;) {
      const status = await study.slurm.slurmStatus(store, plan.name);
      counts = await store.counts(plan.name);
      const live = status.jobs.reduce((n, j) => n + j.live, 0);
      const line = `${bar(counts)} ${countsLine(counts)} · ${live} Slurm task(s) pending or running`;
      if (line !== last && !o.json) console.error(line);
      last = line;
      if (live === 0) break;
      await sleep(5000);
    }
    if (o.json) console.log(JSON.stringify({ study: plan.name, store: store.location, executor: 'slurm', ...r, counts }));
    else console.log(`${plan.name}: ${countsLine(counts)}`);
    if (counts.done < counts.total) {
      process.exitCode = 1;
      if (!o.json) console.log(`unfinished runs: robusta study resubmit-failed ${store.location}`);
    }
  } finally {
    await store.close();
  }
}

async function cancelCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), { dir: { type: 'string' }, store: { type: 'string' }, study: { type: 'string' }, json: { type: 'boolean' } });
  const where = locate(argv[0], o);
  requireStore(where);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const r = await study.slurm.cancelStudy(store, name);
    if (o.json) console.log(JSON.stringify({ study: name, ...r }));
    else console.log(r.cancelled.length === 0 ? `${name}: no Slurm job of the study is pending or running`
      : `${name}: cancelled Slurm job(s) ${r.cancelled.join(', ')}; ${r.released} run(s) they held are pending again`);
  } finally {
    await store.close();
  }
}

async function resubmitCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), {
    dir: { type: 'string' }, store: { type: 'string' }, study: { type: 'string' }, lease: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' },
  });
  const where = locate(argv[0], o);
  requireStore(where);
  passPasswordToWorkers(where.storePath);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const submission = where.spec ? slurmSubmission(where, store, o) : undefined;
    const r = await study.slurm.resubmitFailed(store, name, { submission });
    if (o.json) {
      console.log(JSON.stringify({ study: name, ...r }));
      return;
    }
    console.log(`${name}: ${r.retried} failed run(s) pending again, ${r.reclaimed} run(s) of dead tasks reclaimed; ` +
      (r.jobId === null ? 'nothing to submit' : `submitted Slurm job ${r.jobId} (${r.tasks} task(s) for ${r.claimable} run(s))`));
  } finally {
    await store.close();
  }
}

const SUB: Record<string, (argv: string[]) => Promise<void>> = {
  run: runCommand, status: statusCommand, report: reportCommand, retry: retryCommand, worker: workerCommand,
  cancel: cancelCommand, 'resubmit-failed': resubmitCommand,
};

export async function runStudy(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const f = sub ? SUB[sub] : undefined;
  if (!f) throw new UsageError(sub ? `unknown study command '${sub}' (${Object.keys(SUB).join(', ')})` : 'give a study command');
  await f(rest);
}
