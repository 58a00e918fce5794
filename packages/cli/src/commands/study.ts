// robusta study run|status|report|retry|worker: a grid of trainings and measures from one spec, kept
// in a store (SQLite file), resumable after any interruption, ending in a report.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { report, study } from 'robusta';
import { parse, parseInteger, UsageError } from '../args.js';

export const usage = `robusta study <run|status|report|retry|worker> ...
  robusta study run SPEC [--dir DIR] [--store FILE] [--workers N] [--threads N] [--json]
      expand the spec, train and measure every run on a pool of local workers (re-run to resume)
  robusta study status SPEC|STORE [--study NAME] [--json]     done / running / failed / pending, ETA
  robusta study report SPEC|STORE --out DIR [--study NAME] [--bootstrap N] [--json]
      τ table per measure (overall, per defense, granulated per axis) and plots: index.html, PNG, SVG
  robusta study retry SPEC|STORE [--study NAME]               failed runs back to pending
  robusta study worker STORE --study NAME [--runs DIR]        claim and execute runs (one per Slurm task, ...)
  SPEC: a YAML or JSON study spec (see studies/*.yaml). Default DIR: runs/studies/<name>
  (store.sqlite and one folder per run).`;

const isSpecPath = (p: string): boolean => /\.(ya?ml|json)$/i.test(p);

interface Located {
  storePath: string;
  runsDir: string;
  plan: study.StudyPlan | null;
  studyName: string | null;
}

/** The store (and plan) a SPEC or STORE argument names. */
function locate(target: string | undefined, o: Record<string, unknown>): Located {
  if (!target) throw new UsageError('give a study spec (.yaml/.json) or a store file');
  if (isSpecPath(target)) {
    const plan = study.planStudy(study.readStudySpec(target), study.specDirOf(target));
    const dir = (o.dir as string | undefined) ?? join('runs', 'studies', plan.name);
    return { storePath: (o.store as string | undefined) ?? join(dir, 'store.sqlite'), runsDir: resolve(dir, 'runs'), plan, studyName: plan.name };
  }
  if (!existsSync(target)) throw new UsageError(`no such store file: ${target}`);
  return { storePath: target, runsDir: resolve(target, '..', 'runs'), plan: null, studyName: (o.study as string | undefined) ?? null };
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
  });
  const target = argv[0];
  if (!target || !isSpecPath(target)) throw new UsageError('study run needs a spec file (.yaml, .yml or .json)');
  const where = locate(target, o);
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
      console.log(`report: robusta study report ${where.storePath} --out ${join(where.storePath, '..', 'report')}`);
    }
    if (summary.counts.failed > 0) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

async function statusCommand(argv: string[]): Promise<void> {
  const o = parse(argv.slice(1), { dir: { type: 'string' }, store: { type: 'string' }, study: { type: 'string' }, json: { type: 'boolean' } });
  const where = locate(argv[0], o);
  if (!existsSync(where.storePath)) throw new UsageError(`the study has no store yet (${where.storePath}): run it first`);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const counts = await store.counts(name);
    const runs = await store.runs(name);
    const finished = runs.filter((r) => r.status === 'done').map((r) => (r.trainSeconds ?? 0) + (r.measureSeconds ?? 0));
    const perRun = finished.length ? finished.reduce((a, b) => a + b, 0) / finished.length : null;
    const eta = perRun === null ? null : perRun * (counts.pending + counts.running);
    if (o.json) {
      console.log(JSON.stringify({ study: name, counts, secondsPerRun: perRun, etaSeconds: eta, runs: runs.map((r) => ({
        id: r.id, settings: r.settings, status: r.status, stage: r.stage, worker: r.worker, attempts: r.attempts, error: r.error,
        trainSeconds: r.trainSeconds, measureSeconds: r.measureSeconds,
      })) }));
      return;
    }
    console.log(`${name}: ${bar(counts)} ${countsLine(counts)}; ${duration(perRun)} per run; ETA ${duration(eta)} (one worker)`);
    for (const r of runs) {
      const what = Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(' ');
      const extra = r.status === 'failed' ? `  ${r.error}` : r.status === 'running' ? `  ${r.stage ?? ''} (${r.worker})` : '';
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
  if (!existsSync(where.storePath)) throw new UsageError(`the study has no store yet (${where.storePath}): run it first`);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const bootstrapSamples = o.bootstrap === undefined ? undefined : parseInteger('bootstrap', o.bootstrap as string, undefined, 0);
    const data = await study.analyseStudy(store, name, { bootstrapSamples });
    if (data.models.length === 0) throw new UsageError(`study '${name}' has no measured model yet`);
    const out = (o.out as string | undefined) ?? join(where.storePath, '..', 'report');
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
  const o = parse(argv.slice(1), { study: { type: 'string' }, runs: { type: 'string' }, lease: { type: 'string' }, 'max-runs': { type: 'string' } });
  const where = locate(argv[0], o);
  const store = study.openStore(where.storePath);
  try {
    const name = await studyName(store, where.studyName);
    const s = await study.runWorker({
      store, study: name, runsDir: (o.runs as string | undefined) ?? where.runsDir,
      leaseMs: o.lease === undefined ? undefined : 1000 * parseInteger('lease', o.lease as string, undefined, 1),
      maxRuns: o['max-runs'] === undefined ? undefined : parseInteger('max-runs', o['max-runs'] as string, undefined, 1),
      log: (line) => console.error(line),
    });
    console.log(JSON.stringify(s));
  } finally {
    await store.close();
  }
}

const SUB: Record<string, (argv: string[]) => Promise<void>> = {
  run: runCommand, status: statusCommand, report: reportCommand, retry: retryCommand, worker: workerCommand,
};

export async function runStudy(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const f = sub ? SUB[sub] : undefined;
  if (!f) throw new UsageError(sub ? `unknown study command '${sub}' (${Object.keys(SUB).join(', ')})` : 'give a study command');
  await f(rest);
}
