// One run of a study, in stages that each end in one store transaction: train (the Trainer resumes
// exactly from the run's last.pt, so a run interrupted anywhere continues where it stopped), then for
// each checkpoint the measures (the gap among them). The worker holding the run renews its lease while
// it works; a worker that lost its lease stops.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Device, dispose, type Tensor, tidy } from '@robusta/torch';
import type { ImageTensorDataset } from '../data/dataset.js';
import { loadStateDict } from '../io/torch-file.js';
import { computeMeasures } from '../measures/compute.js';
import type { ExampleSource } from '../eval/examples.js';
import { createModel, isModelName } from '../models/registry.js';
import type { Module } from '../nn/module.js';
import { type DatasetName, loadSplit, normalizationOf } from '../train/catalog.js';
import { createJobModel, runTrainJob } from '../train/job.js';
import type { StudyPlan } from './plan.js';
import type { StoredRun, StudyStore } from './store/types.js';

/** The worker lost its lease on a run (another worker took it over): stop without recording. */
export class LeaseLostError extends Error {
  constructor(runId: string) {
    super(`lost the lease on run ${runId}`);
    this.name = 'LeaseLostError';
  }
}

export interface ExecuteRunOptions {
  store: StudyStore;
  plan: StudyPlan;
  /** Where each run's folder (init.pt, last.pt, best.pt, metrics.jsonl) goes: <runsDir>/<run id>. */
  runsDir: string;
  worker: string;
  leaseMs: number;
  /** Called at every training batch and before every measure (a place to notice that the parent died). */
  onBatch?: () => void;
  /** Datasets cached by the worker across runs. */
  datasets: DatasetCache;
}

/** Train and test splits by dataset name, loaded once per worker process. */
export class DatasetCache {
  private readonly cache = new Map<string, { train: ImageTensorDataset; test: ImageTensorDataset }>();
  async get(name: DatasetName): Promise<{ train: ImageTensorDataset; test: ImageTensorDataset }> {
    let d = this.cache.get(name);
    if (!d) {
      d = { train: await loadSplit(name, 'train'), test: await loadSplit(name, 'test') };
      this.cache.set(name, d);
    }
    return d;
  }
  dispose(): void {
    for (const d of this.cache.values()) {
      d.train.dispose();
      d.test.dispose();
    }
    this.cache.clear();
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function executeRun(run: StoredRun, o: ExecuteRunOptions): Promise<void> {
  const { store, plan } = o;
  let lost = false;
  let lastRenew = Date.now();
  const renew = (stage?: string) => {
    void store.renewLease(plan.name, run.id, o.worker, o.leaseMs, stage).then((held) => {
      if (!held) lost = true;
    });
  };
  const check = () => {
    o.onBatch?.();
    if (lost) throw new LeaseLostError(run.id);
    if (Date.now() - lastRenew > o.leaseMs / 4) {
      lastRenew = Date.now();
      renew();
    }
  };
  const out = join(o.runsDir, run.id);
  const device = plan.execution?.device ?? null;
  const splits = await o.datasets.get(plan.dataset);

  if (run.job) {
    renew('train');
    const epochWrites: Promise<void>[] = [];
    const started = performance.now();
    const { net, summary } = await runTrainJob({ ...run.job, out, device: (device ?? undefined) as Device | undefined }, {
      progress: 'none',
      onBatch: check,
      onEpoch: (m) => {
        epochWrites.push(store.recordEpoch(plan.name, run.id, m.epoch, { ...m }));
        check();
      },
    });
    net.dispose();
    await Promise.all(epochWrites);
    if (lost) throw new LeaseLostError(run.id);
    const artifacts = [];
    for (const kind of ['init.pt', 'best.pt', 'last.pt', 'metrics.jsonl']) {
      const path = join(out, kind);
      if (existsSync(path)) artifacts.push({ kind, path, sha256: await sha256File(path), bytes: statSync(path).size });
    }
    await store.recordTrained(plan.name, run.id, artifacts, summary.epochsRun > 0 ? (performance.now() - started) / 1000 : 0);
  }

  const measured = new Set(await store.measuredCheckpoints(plan.name, run.id));
  // best.pt and last.pt often hold the same weights (the best epoch was the last): measure them once.
  const byWeights = new Map<string, Parameters<StudyStore['recordMeasurements']>[3]>();
  for (const checkpoint of run.checkpoints) {
    if (measured.has(checkpoint)) continue;
    renew(`measure:${checkpoint}`);
    const weightsPath = run.job ? join(out, checkpoint === 'best' ? 'best.pt' : 'last.pt') : run.given!.weights;
    const initPath = run.job ? join(out, 'init.pt') : run.given!.init;
    const net = makeModel(run, plan.dataset, splits.train.classes.length);
    if (device && device !== 'cpu') net.to(device as Device);
    const initial = initPath && existsSync(initPath) ? loadStateDict(initPath) : null;
    let trainSource: ExampleSource = splits.train;
    let trainSubset: { x: Tensor; y: Tensor } | null = null;
    try {
      loadInto(net, weightsPath);
      const digest = weightsDigest(net);
      const same = byWeights.get(digest);
      if (same) {
        await store.recordMeasurements(plan.name, run.id, checkpoint, same.map((m) => ({ ...m, seconds: 0 })));
        continue;
      }
      // The train-side measures must only see examples the model was trained on.
      const nTrain = run.job?.nTrain;
      if (nTrain !== undefined && nTrain < plan.measureSettings.n) {
        trainSubset = splits.train.get(Array.from({ length: nTrain }, (_, i) => i));
        trainSource = trainSubset;
      }
      const report = computeMeasures(net, { train: trainSource, test: splits.test }, {
        ...plan.measureSettings, measures: plan.measures, initialState: initial, onProgress: check,
      });
      if (lost) throw new LeaseLostError(run.id);
      const values = report.measures.map((m) => ({
        measure: m.name, value: m.value, seconds: m.seconds, error: m.error ?? null, perExample: m.perExample ?? null,
      }));
      await store.recordMeasurements(plan.name, run.id, checkpoint, values);
      byWeights.set(digest, values);
    } finally {
      net.dispose();
      if (initial) dispose([...initial.values()]);
      if (trainSubset) dispose(trainSubset);
    }
  }
  if (lost) throw new LeaseLostError(run.id);
  await store.finishRun(plan.name, run.id, o.worker);
}

function makeModel(run: StoredRun, dataset: DatasetName, numClasses: number): Module {
  if (run.job) return createJobModel({ ...run.job, dataset }, numClasses);
  const name = run.given!.model;
  if (!isModelName(name)) throw new TypeError(`unknown model '${name}'`);
  return createModel(name, { normalize: normalizationOf(dataset), numClasses });
}

/** sha256 over the names and bytes of a model's parameters and buffers. */
function weightsDigest(net: Module): string {
  const h = createHash('sha256');
  for (const [k, t] of [...net.namedParameters(), ...net.namedBuffers()]) {
    tidy(() => {
      const d = t.contiguous().data();
      h.update(k).update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    });
  }
  return h.digest('hex');
}

function loadInto(net: Module, path: string): void {
  if (!existsSync(path)) throw new Error(`checkpoint ${path} is missing`);
  const state = loadStateDict(path);
  try {
    tidy(() => net.loadStateDict(state, { strict: true }));
  } finally {
    dispose([...state.values()]);
  }
}
