// Every training run the dashboard can show: folders that `robusta train --out` wrote under the runs
// folder (metrics.jsonl, init.pt, best.pt, last.pt), and the runs of every study store (per-epoch
// metrics, status and artifacts in the store). A study run's folder is shown once, as the study run.
// Runs and checkpoints are named by keys and references that the server resolves itself; a folder
// run's key carries its path relative to the runs folder, and is refused if that path would leave it.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { train, type study } from 'robusta';
import { isInside, PathEscapeError, resolveInside } from './security.js';
import type { StoreInfo, StoreRegistry } from './stores.js';

/**
 * A study run's status from its store; a folder run (robusta train leaves no lock or planned total)
 * is 'active' while its metrics.jsonl changed in the last two minutes, 'idle' otherwise.
 */
export type RunStatus = 'pending' | 'running' | 'done' | 'failed' | 'active' | 'idle';

export interface CheckpointRef {
  /** 'init.pt', 'best.pt', 'last.pt', ... */
  kind: string;
  /** What a request names it by. */
  ref: string;
  bytes: number;
}

export interface RunSummary {
  key: string;
  source: 'folder' | 'study';
  title: string;
  status: RunStatus;
  epochs: number;
  /** The number of epochs the run will have (known for study runs). */
  plannedEpochs: number | null;
  last: Record<string, unknown> | null;
  /** ISO time of the last change seen. */
  updatedAt: string | null;
  model: string | null;
  dataset: string | null;
  defense: string | null;
  study: { storeId: string; store: string; name: string; runId: string; settings: Record<string, unknown> } | null;
  error: string | null;
  checkpoints: CheckpointRef[];
}

export interface RunDetail extends RunSummary {
  history: Record<string, unknown>[];
}

/** A folder whose metrics.jsonl changed this recently is shown as active. */
const ACTIVE_MS = 120_000;
const CHECKPOINT_FILE = /\.(pt|pth|safetensors)$/;

/** Folders with a metrics.jsonl under root, relative to it (POSIX separators). */
export function findRunFolders(root: string, depth = 5): string[] {
  const out: string[] = [];
  const walk = (dir: string, left: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name === 'metrics.jsonl')) out.push(relative(root, dir).split(sep).join('/'));
    if (left === 0) return;
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') walk(join(dir, e.name), left - 1);
  };
  if (existsSync(root)) walk(root, depth);
  return out.filter((r) => r !== '').sort();
}

function folderCheckpoints(dir: string, rel: string): CheckpointRef[] {
  const names = (() => {
    try {
      return readdirSync(dir).filter((n) => CHECKPOINT_FILE.test(n));
    } catch {
      return [];
    }
  })();
  const order = (n: string) => ['best.pt', 'last.pt', 'init.pt'].indexOf(n) + 1 || 9;
  return names.sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .map((n) => ({ kind: n, ref: `runs:${rel}/${n}`, bytes: statSync(join(dir, n)).size }));
}

export class RunIndex {
  constructor(readonly runsRoot: string, readonly stores: StoreRegistry) {}

  async list(): Promise<RunSummary[]> {
    const studyRuns: RunSummary[] = [];
    const studyFolders = new Set<string>();
    for (const info of this.stores.list()) {
      const opened = this.stores.get(info.id)!;
      for (const name of await opened.store.studies()) {
        const epochs = await opened.store.epochs(name);
        const artifacts = await opened.store.artifacts(name);
        for (const run of await opened.store.runs(name)) {
          const mine = epochs.filter((e) => e.runId === run.id).sort((a, b) => a.epoch - b.epoch);
          studyRuns.push(studySummary(info, name, run, mine, artifacts.filter((a) => a.runId === run.id)));
          studyFolders.add(join(info.root, 'runs', run.id));
          for (const a of artifacts) if (a.runId === run.id) studyFolders.add(join(a.path, '..'));
        }
      }
    }
    const folderRuns = findRunFolders(this.runsRoot)
      .filter((rel) => !studyFolders.has(resolveInside(this.runsRoot, rel)))
      .map((rel) => this.folderSummary(rel).summary);
    return [...folderRuns, ...studyRuns];
  }

  /** One run with its per-epoch history; undefined for an unknown key; PathEscapeError for a path that leaves the runs folder. */
  async detail(key: string): Promise<RunDetail | undefined> {
    if (key.startsWith('f:')) {
      const rel = key.slice(2);
      const dir = resolveInside(this.runsRoot, rel);
      if (!existsSync(join(dir, 'metrics.jsonl'))) return undefined;
      const { summary, history } = this.folderSummary(rel);
      return { ...summary, history };
    }
    const parsed = parseStudyKey(key);
    if (!parsed) return undefined;
    const opened = this.stores.get(parsed.storeId);
    if (!opened) return undefined;
    const run = (await opened.store.runs(parsed.study, { includeRetired: true })).find((r) => r.id === parsed.runId);
    if (!run) return undefined;
    const epochs = (await opened.store.epochs(parsed.study, run.id)).sort((a, b) => a.epoch - b.epoch);
    const summary = studySummary(opened.info, parsed.study, run, epochs, await opened.store.artifacts(parsed.study, run.id));
    return { ...summary, history: epochs.map((e) => ({ ...e.metrics, epoch: e.epoch })) };
  }

  /**
   * The file a checkpoint reference names, with what is known of its model: 'runs:<relative path>'
   * inside the runs folder, or 'store:<store id>:<study>:<run id>:<kind>' (an artifact the store
   * records, which must lie inside the store's folder or the runs folder).
   */
  async resolveCheckpoint(ref: string): Promise<{ path: string; model: string | null; dataset: string | null }> {
    if (ref.startsWith('runs:')) {
      const rel = ref.slice(5);
      if (!CHECKPOINT_FILE.test(rel)) throw new PathEscapeError('a checkpoint must be a .pt, .pth or .safetensors file');
      const path = resolveInside(this.runsRoot, rel);
      if (!existsSync(path) || !statSync(path).isFile()) throw new RangeError(`no checkpoint ${rel} in the runs folder`);
      return { path, model: null, dataset: null };
    }
    const m = /^store:([0-9a-f]{12}):([^:]+):([0-9a-f]{1,64}):([a-z0-9._-]+)$/.exec(ref);
    if (!m) throw new RangeError(`not a checkpoint reference: '${ref.slice(0, 80)}'`);
    const opened = this.stores.get(m[1]!);
    if (!opened) throw new RangeError('unknown store');
    const studyName = decodeURIComponent(m[2]!);
    const artifact = (await opened.store.artifacts(studyName, m[3]!)).find((a) => a.kind === m[4]);
    if (!artifact || !CHECKPOINT_FILE.test(artifact.path)) throw new RangeError('the store records no such checkpoint');
    const abs = resolve(opened.info.root, artifact.path);
    const path = existsSync(abs) ? realpathSync(abs) : abs;
    if (!isInside(opened.info.root, path) && !isInside(this.runsRoot, path)) {
      throw new PathEscapeError('the store names a checkpoint outside its folder and the runs folder');
    }
    const run = (await opened.store.runs(studyName, { includeRetired: true })).find((r) => r.id === m[3]);
    return { path, model: run?.job?.model ?? run?.given?.model ?? null, dataset: run?.job?.dataset ?? null };
  }

  private folderSummary(rel: string): { summary: RunSummary; history: Record<string, unknown>[] } {
    const dir = resolveInside(this.runsRoot, rel);
    const metricsPath = join(dir, 'metrics.jsonl');
    const history = new train.MetricsLog(metricsPath).read() as unknown as Record<string, unknown>[];
    const mtime = existsSync(metricsPath) ? statSync(metricsPath).mtimeMs : 0;
    const summary: RunSummary = {
      key: `f:${rel}`, source: 'folder', title: rel,
      status: Date.now() - mtime < ACTIVE_MS ? 'active' : 'idle',
      epochs: history.length, plannedEpochs: null, last: history[history.length - 1] ?? null,
      updatedAt: mtime ? new Date(mtime).toISOString() : null,
      model: null, dataset: null, defense: null, study: null, error: null,
      checkpoints: folderCheckpoints(dir, rel),
    };
    return { summary, history };
  }
}

function studySummary(info: StoreInfo, name: string, run: study.StoredRun, epochs: study.StoredEpoch[], artifacts: study.StoredArtifact[]): RunSummary {
  const settings = Object.entries(run.settings).map(([k, v]) => `${k}=${v}`).join(' · ');
  const last = epochs[epochs.length - 1];
  return {
    key: `s:${info.id}:${encodeURIComponent(name)}:${run.id}`, source: 'study',
    title: `${name} · ${settings || run.id}`,
    status: run.status, epochs: epochs.length, plannedEpochs: run.job?.epochs ?? null,
    last: last ? { ...last.metrics, epoch: last.epoch } : null,
    updatedAt: run.finishedAt ?? run.startedAt,
    model: run.job?.model ?? run.given?.model ?? null, dataset: run.job?.dataset ?? null, defense: run.job?.defense ?? null,
    study: { storeId: info.id, store: info.label, name, runId: run.id, settings: run.settings },
    error: run.error,
    checkpoints: artifacts.filter((a) => CHECKPOINT_FILE.test(a.path)).sort((a, b) => a.kind.localeCompare(b.kind))
      .map((a) => ({ kind: a.kind, ref: `store:${info.id}:${encodeURIComponent(name)}:${run.id}:${a.kind}`, bytes: a.bytes })),
  };
}

export function parseStudyKey(key: string): { storeId: string; study: string; runId: string } | null {
  const m = /^s:([0-9a-f]{12}):([^:]+):([0-9a-f]{1,64})$/.exec(key);
  if (!m) return null;
  try {
    return { storeId: m[1]!, study: decodeURIComponent(m[2]!), runId: m[3]! };
  } catch {
    return null;
  }
}
