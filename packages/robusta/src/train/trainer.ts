// The training loop: epochs of a defense loss over a batch source, with an optimizer and an LR
// schedule; per epoch a metrics line, an evaluation on a fixed test subset, and checkpoints.
//
// Resuming is exact: re-running the same command after a crash (kill -9 at any moment) continues
// from the last completed epoch and ends with the same weights, bit for bit, as an uninterrupted
// run (same device, same thread count). What makes it so:
//   - last.pt holds everything the rest of the run depends on: weights and buffers, the optimizer's
//     state (momentum, step counts, each group's lr), the schedule's counter, and torch's RNG state
//     (random starts of the inner attacks); it is written atomically after each epoch;
//   - the batches of epoch e depend on (loader seed, e) only (robusta/data's DataLoader);
//   - evaluations leave torch's random stream as they found it;
//   - init.pt (the weights before the first step) is written when a fresh run starts;
//   - files are written in the order best.pt → metrics line → last.pt, and on resume metrics.jsonl
//     is cut back to the checkpoint's epoch, so every crash point replays to the same files.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@robusta/torch';
import { type Device, dispose, tidy } from '@robusta/torch';
import type { DefenseLoss } from '../defenses/types.js';
import type { AttackBudget } from '../defenses/recipes.js';
import { type ExampleSource, firstExamples } from '../eval/examples.js';
import { pgdAccuracy, type PgdEvalOptions } from '../eval/pgd-accuracy.js';
import { saveTorchFile } from '../io/torch-file.js';
import { disposeCheckpoint, loadTrainingCheckpoint, saveTrainingCheckpoint, TrainingCheckpointError } from './checkpoint.js';
import { type EpochMetrics, MetricsLog } from './metrics-log.js';
import { type ProgressMode, ProgressReporter, type ProgressStream } from './progress.js';
import type { BatchSource, CheckpointableModel, OptimizerLike, ScheduleLike, TrainBatch } from './types.js';

export interface TrainerOptions {
  model: CheckpointableModel;
  optimizer: OptimizerLike;
  defense: DefenseLoss;
  /** The training batches (a DataLoader with seeded shuffling). */
  train: BatchSource;
  /** Total epochs (a resumed run stops here too). */
  epochs: number;
  /** Where metrics.jsonl, last.pt and best.pt go (created if missing). */
  outDir: string;
  schedule?: ScheduleLike;
  /** Step the schedule after every epoch (default, as PyTorch's epoch schedules) or every batch (OneCycle). */
  scheduleInterval?: 'epoch' | 'batch';
  /** Test examples: clean and PGD accuracy on the first evaluation.n of them after every epoch. */
  test?: ExampleSource;
  /**
   * The per-epoch PGD evaluation. Defaults: n 1000, PGD-10 with α = 2.5ε/10 and ε of the defense's
   * inner attack (8/255 when it has none), seed 0.
   */
  evaluation?: PgdEvalOptions;
  /** Seeds torch's generator at the start of a fresh run. Default 0. */
  seed?: number;
  /** Continue from outDir/last.pt when it exists (default true); false starts over. */
  resume?: boolean;
  /** 'auto' (default): a bar on a TTY, plain lines otherwise. */
  progress?: ProgressMode;
  /** Default process.stderr. */
  progressStream?: ProgressStream;
  /** Lines mode: a line every n batches (default ~10 per epoch). */
  progressEvery?: number;
  /** Batches are moved here before the step (default: left where the source puts them). */
  device?: Device;
  /** Called after every optimisation step (epoch and batch 1-based). */
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number }) => void;
  /** Called after every epoch, once its checkpoint is written. */
  onEpoch?: (metrics: EpochMetrics) => void;
}

export interface TrainSummary {
  /** Epochs completed before this call (0 for a fresh run). */
  resumedFrom: number;
  /** Epochs run by this call. */
  epochsRun: number;
  /** The metric best.pt was chosen by, and its epoch (1-based). */
  bestMetric: number | null;
  bestEpoch: number | null;
  /** Every completed epoch's metrics, resumed ones included. */
  history: EpochMetrics[];
  lastCheckpoint: string;
  bestCheckpoint: string | null;
}

interface StepStats {
  loss: number;
  n: number;
  clean: number;
  robust: number | null;
}

function budgetOf(defense: DefenseLoss): AttackBudget | undefined {
  const d = defense as { budget?: AttackBudget; inner?: { budget?: AttackBudget } };
  return d.budget ?? d.inner?.budget;
}

export class Trainer {
  readonly outDir: string;
  readonly lastPath: string;
  readonly bestPath: string;
  /** The weights before the first step (torch.save state_dict): distance-from-initialisation measures need them. */
  readonly initPath: string;
  readonly metrics: MetricsLog;
  private readonly o: TrainerOptions;
  private readonly progress: ProgressReporter;
  private readonly evaluation: PgdEvalOptions;

  constructor(o: TrainerOptions) {
    if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new RangeError(`Trainer: epochs must be a positive integer, got ${o.epochs}`);
    if (typeof o.outDir !== 'string' || o.outDir === '') throw new TypeError('Trainer: outDir must be a directory path');
    for (const [k, v] of [['model', o.model], ['optimizer', o.optimizer], ['defense', o.defense], ['train', o.train]] as const) {
      if (!v) throw new TypeError(`Trainer: ${k} is required`);
    }
    if (typeof o.defense.compute !== 'function') throw new TypeError('Trainer: defense must have compute(model, x, y)');
    if (typeof o.train.epoch !== 'function') throw new TypeError('Trainer: train must have epoch(e) (a DataLoader)');
    if (o.scheduleInterval !== undefined && o.scheduleInterval !== 'epoch' && o.scheduleInterval !== 'batch') {
      throw new RangeError(`Trainer: scheduleInterval must be 'epoch' or 'batch', got '${String(o.scheduleInterval)}'`);
    }
    if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) throw new RangeError(`Trainer: seed must be an integer, got ${o.seed}`);
    this.o = o;
    this.outDir = o.outDir;
    this.lastPath = join(o.outDir, 'last.pt');
    this.bestPath = join(o.outDir, 'best.pt');
    this.initPath = join(o.outDir, 'init.pt');
    this.metrics = new MetricsLog(join(o.outDir, 'metrics.jsonl'));
    this.progress = new ProgressReporter(o.progressStream ?? process.stderr, o.progress ?? 'auto', o.progressEvery);
    const eps = o.evaluation?.eps ?? budgetOf(o.defense)?.eps ?? 8 / 255;
    this.evaluation = { n: 1000, steps: 10, seed: 0, device: o.device, ...o.evaluation, eps };
  }

  /** Trains up to `epochs`, resuming from last.pt when there is one. */
  async fit(): Promise<TrainSummary> {
    const { model, optimizer, schedule, defense } = this.o;
    mkdirSync(this.outDir, { recursive: true });
    let startEpoch = 0;
    let bestMetric: number | null = null;
    let bestEpoch: number | null = null;
    const ckpt = this.o.resume === false ? null : loadTrainingCheckpoint(this.lastPath);
    if (ckpt) {
      try {
        if (ckpt.defense !== defense.name) {
          throw new TrainingCheckpointError(`${this.lastPath} was written by a ${ckpt.defense} run, this one trains with ${defense.name}: use another outDir or resume: false`);
        }
        model.loadStateDict(ckpt.model);
        optimizer.loadStateDict(ckpt.optimizer);
        if (schedule && ckpt.schedule) schedule.loadStateDict(ckpt.schedule as never);
        torch.setRngState(ckpt.rngState, 'cpu');
        if (ckpt.cudaRngState && this.o.device?.startsWith('cuda')) torch.setRngState(ckpt.cudaRngState, this.o.device);
        startEpoch = ckpt.epoch;
        bestMetric = ckpt.bestMetric;
        bestEpoch = ckpt.bestEpoch;
      } finally {
        disposeCheckpoint(ckpt);
      }
    } else {
      // Written before any step, so a run killed in its first epoch rewrites the same file.
      tidy(() => saveTorchFile(this.initPath, model.stateDict()));
      torch.manualSeed(this.o.seed ?? 0);
    }
    this.metrics.truncateTo(startEpoch);
    const history = this.metrics.read();
    if (startEpoch > 0) this.progress.message(`resuming after epoch ${startEpoch} of ${this.o.epochs} from ${this.lastPath}`);

    const test = this.o.test ? firstExamples(this.o.test, this.evaluation.n, 'Trainer test set') : null;
    try {
      for (let e = startEpoch; e < this.o.epochs; e++) {
        const m = await this.runEpoch(e, test);
        const metric = m.test_pgd_acc ?? m.train_robust_acc ?? m.train_clean_acc;
        if (bestMetric === null || metric > bestMetric) {
          bestMetric = metric;
          bestEpoch = e + 1;
          this.save(this.bestPath, e + 1, bestMetric, bestEpoch, m);
        }
        this.metrics.append(m);
        this.save(this.lastPath, e + 1, bestMetric, bestEpoch, m);
        history.push(m);
        this.progress.message(summaryLine(m, this.o.epochs));
        this.o.onEpoch?.(m);
      }
    } finally {
      if (test) dispose(test);
      optimizer.zeroGrad();
    }
    return {
      resumedFrom: startEpoch,
      epochsRun: Math.max(0, this.o.epochs - startEpoch),
      bestMetric,
      bestEpoch,
      history,
      lastCheckpoint: this.lastPath,
      bestCheckpoint: bestEpoch === null ? null : this.bestPath,
    };
  }

  private async runEpoch(e: number, test: { x: torch.Tensor; y: torch.Tensor } | null): Promise<EpochMetrics> {
    const { model, optimizer, schedule, train } = this.o;
    const lr = optimizer.paramGroups[0]?.lr ?? NaN;
    const batches = train.length;
    const started = performance.now();
    let seen = 0;
    let lossSum = 0;
    let clean = 0;
    let robust = 0;
    let robustSeen = 0;
    let i = 0;
    model.train();
    for await (const batch of train.epoch(e)) {
      let s: StepStats;
      try {
        s = tidy(() => this.step(batch, e, i));
      } finally {
        dispose(batch);
      }
      if (schedule && this.o.scheduleInterval === 'batch') schedule.step();
      seen += s.n;
      lossSum += s.loss * s.n;
      clean += s.clean;
      if (s.robust !== null) {
        robust += s.robust;
        robustSeen += s.n;
      }
      i++;
      const elapsed = (performance.now() - started) / 1000;
      this.progress.update({
        epoch: e + 1, epochs: this.o.epochs, batch: i, batches, loss: lossSum / seen,
        accuracy: (robustSeen > 0 ? robust : clean) / seen, imagesPerSecond: seen / Math.max(elapsed, 1e-9),
      });
      this.o.onBatch?.({ epoch: e + 1, batch: i, batches, loss: s.loss });
    }
    if (seen === 0) throw new RangeError(`Trainer: epoch ${e + 1} had no batches`);
    if (schedule && this.o.scheduleInterval !== 'batch') schedule.step();
    const trainSeconds = (performance.now() - started) / 1000;
    const evaluated = test ? pgdAccuracy(model, test, this.evaluation) : null;
    return {
      epoch: e + 1,
      loss: lossSum / seen,
      train_clean_acc: clean / seen,
      train_robust_acc: robustSeen > 0 ? robust / robustSeen : null,
      test_clean_acc: evaluated ? evaluated.cleanAccuracy : null,
      test_pgd_acc: evaluated ? evaluated.robustAccuracy : null,
      lr,
      seconds: (performance.now() - started) / 1000,
      images_per_second: seen / Math.max(trainSeconds, 1e-9),
    };
  }

  /** One optimisation step (runs inside tidy). */
  private step(batch: TrainBatch, epoch: number, index: number): StepStats {
    const { model, optimizer, defense } = this.o;
    const x = this.o.device ? batch.x.to({ device: this.o.device }) : batch.x;
    const y = this.o.device ? batch.y.to({ device: this.o.device }) : batch.y;
    model.train();
    optimizer.zeroGrad();
    const out = defense.compute(model, x, y, { epoch, batch: index });
    try {
      out.loss.backward();
    } finally {
      out.restore?.();
    }
    optimizer.step();
    const loss = out.loss.item();
    if (!Number.isFinite(loss)) throw new RangeError(`Trainer: the loss became ${loss} at epoch ${epoch + 1}, batch ${index + 1}`);
    return {
      loss,
      n: y.shape[0]!,
      clean: out.cleanLogits.argmax(1).eq(y).sum().item(),
      robust: out.advLogits ? out.advLogits.argmax(1).eq(y).sum().item() : null,
    };
  }

  private save(path: string, epoch: number, bestMetric: number | null, bestEpoch: number | null, metrics: EpochMetrics): void {
    const { model, optimizer, schedule, defense } = this.o;
    tidy(() => {
      const state = model.stateDict();
      const opt = optimizer.stateDict();
      const cuda = this.o.device?.startsWith('cuda') ? torch.getRngState(this.o.device) : null;
      try {
        saveTrainingCheckpoint(path, {
          epoch, defense: defense.name, bestMetric, bestEpoch, metrics: { ...metrics },
          model: state, optimizer: opt, schedule: schedule ? schedule.stateDict() : null,
          rngState: torch.getRngState('cpu'), cudaRngState: cuda,
        });
      } finally {
        for (const s of Object.values(opt.state)) dispose(Object.values(s));
      }
    });
  }
}

function summaryLine(m: EpochMetrics, epochs: number): string {
  const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);
  return `epoch ${m.epoch}/${epochs} done: loss ${m.loss.toFixed(4)}, train clean ${pct(m.train_clean_acc)}, train robust ${pct(m.train_robust_acc)}, ` +
    `test clean ${pct(m.test_clean_acc)}, test PGD ${pct(m.test_pgd_acc)}, lr ${m.lr}, ${m.seconds.toFixed(1)} s`;
}
