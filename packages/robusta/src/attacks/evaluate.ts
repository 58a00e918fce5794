// Dataset-level robustness evaluation: several attacks over (images, labels) in batches, running
// accuracies, a result table, and resumable progress through an atomically written JSON checkpoint.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as torch from '@robusta/torch';
import { noGrad, Tensor, tidy } from '@robusta/torch';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { Attack, RandomStreamState } from './attack.js';
import type { Classifier } from './classifier.js';

export interface EvaluationProgress {
  /** Batches done (finished now or restored from the checkpoint) and in total. */
  batch: number;
  batches: number;
  /** Examples covered so far and in total. */
  examples: number;
  total: number;
  /** Whether this batch was restored from the checkpoint rather than attacked. */
  resumed: boolean;
  cleanAccuracy: number;
  /** Running robust accuracy per attack. */
  robustAccuracy: Record<string, number>;
  /** Running accuracy under the worst case over all attacks. */
  worstCaseAccuracy: number;
}

export interface EvaluateOptions {
  /** Examples per batch. Default 64. */
  batchSize?: number;
  /** Called after every batch. */
  onProgress?: (p: EvaluationProgress) => void;
  /**
   * Resume file: each finished batch is recorded (JSON, written to a temporary file, fsync-ed and
   * renamed over the old one), and batches found there are skipped on restart. The file is tied to
   * the data, the attack names and the batch size; a mismatch is an error.
   */
  checkpointPath?: string;
  /**
   * Seeds torch's global generator with seed + batchIndex before each batch, for attacks without a
   * seed of their own (they draw from it): a batch's result then does not depend on which batches ran
   * before it in this process. Attacks with a seed draw from their own stream, started afresh at the
   * beginning of the evaluation and running on from batch to batch (see AttackOptions.seed); a
   * resumed evaluation continues each stream from where the checkpoint recorded it, so it gives the
   * numbers of an uninterrupted one either way.
   */
  seed?: number;
}

export interface EvaluationResult {
  examples: number;
  cleanAccuracy: number;
  /** Accuracy on each attack's adversarial examples (an example misclassified when clean counts as not robust). */
  robustAccuracy: Record<string, number>;
  /** Accuracy when, per example, the most successful attack is used. */
  worstCaseAccuracy: number;
  perExample: {
    clean: boolean[];
    robust: Record<string, boolean[]>;
    worstCase: boolean[];
  };
  /** Batches taken from the checkpoint instead of being attacked. */
  resumedBatches: number;
}

interface BatchRecord {
  clean: string;
  robust: Record<string, string>;
}

interface CheckpointFile {
  format: 'robusta-evaluation';
  version: 1;
  fingerprint: string;
  batchSize: number;
  total: number;
  attacks: string[];
  batches: Record<string, BatchRecord>;
  /** Each seeded attack's random stream after the last recorded batch (base64 by device). */
  streams?: Record<string, Record<string, string> | null>;
}

/** A checkpoint written for another evaluation (other data, attacks or batch size). */
export class CheckpointMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointMismatchError';
  }
}

/**
 * Evaluates `model` on (images [N, ...] in [0, 1], labels int64 [N]) under each attack. attacks: an
 * array (names from attack.name, which must be distinct) or a record name → attack.
 */
export function evaluateRobustness(model: Classifier, images: Tensor, labels: Tensor, attacks: Attack[] | Record<string, Attack>,
  options: EvaluateOptions = {}): EvaluationResult {
  const named = nameAttacks(attacks);
  const names = named.map(([n]) => n);
  if (!(images instanceof Tensor) || !(labels instanceof Tensor)) throw new TypeError('evaluateRobustness: images and labels must be Tensors');
  if (labels.dtype !== 'int64') throw new TypeError(`evaluateRobustness: labels must be int64, got ${labels.dtype}`);
  const total = images.shape[0] ?? 0;
  if (images.ndim < 2 || labels.ndim !== 1 || labels.shape[0] !== total) {
    throw new RangeError(`evaluateRobustness: images [N, ...] and labels [N] must agree, got [${images.shape.join(', ')}] and [${labels.shape.join(', ')}]`);
  }
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`evaluateRobustness: batchSize must be a positive integer, got ${batchSize}`);
  if (options.seed !== undefined && !(Number.isInteger(options.seed) && options.seed >= 0)) {
    throw new RangeError(`evaluateRobustness: seed must be a non-negative integer, got ${options.seed}`);
  }
  const batches = Math.ceil(total / batchSize);

  const fingerprint = fingerprintOf(images, labels, names, batchSize, options.seed);
  const path = options.checkpointPath;
  const checkpoint: CheckpointFile = path && existsSync(path)
    ? readCheckpoint(path, fingerprint)
    : { format: 'robusta-evaluation', version: 1, fingerprint, batchSize, total, attacks: names, batches: {} };

  const clean: boolean[] = [];
  const robust: Record<string, boolean[]> = Object.fromEntries(names.map((n) => [n, [] as boolean[]]));
  let resumedBatches = 0;
  // Seed once per evaluation: every attack's stream starts here (or where a checkpoint left it).
  for (const [, attack] of named) attack.resetRandomStream();
  let streamsRestored = false;
  for (let b = 0; b < batches; b++) {
    const start = b * batchSize;
    const count = Math.min(batchSize, total - start);
    let record = checkpoint.batches[String(b)];
    const resumed = record !== undefined;
    if (record) {
      resumedBatches++;
    } else {
      if (!streamsRestored && resumedBatches > 0) restoreStreams(named, checkpoint.streams);
      streamsRestored = true;
      // The batch views are freed with the batch (they would otherwise wait for the GC).
      record = tidy(() => attackBatch(model, images.narrow(0, start, count), labels.narrow(0, start, count), named, options.seed, b));
      if (path) {
        checkpoint.batches[String(b)] = record;
        checkpoint.streams = Object.fromEntries(named.map(([n, a]) => [n, encodeStream(a.randomStreamState())]));
        writeAtomically(path, JSON.stringify(checkpoint));
      }
    }
    clean.push(...decode(record.clean, count));
    for (const n of names) robust[n]!.push(...decode(record.robust[n]!, count));
    options.onProgress?.({
      batch: b + 1, batches, examples: start + count, total, resumed,
      cleanAccuracy: mean(clean),
      robustAccuracy: Object.fromEntries(names.map((n) => [n, mean(robust[n]!)])),
      worstCaseAccuracy: mean(worstCase(clean, robust, names)),
    });
  }
  const worst = worstCase(clean, robust, names);
  return {
    examples: total,
    cleanAccuracy: mean(clean),
    robustAccuracy: Object.fromEntries(names.map((n) => [n, mean(robust[n]!)])),
    worstCaseAccuracy: mean(worst),
    perExample: { clean, robust, worstCase: worst },
    resumedBatches,
  };
}

/** The result as an aligned text table (accuracies in %). */
export function formatResultTable(result: EvaluationResult): string {
  const rows: [string, string][] = [['clean', pct(result.cleanAccuracy)]];
  for (const [name, acc] of Object.entries(result.robustAccuracy)) rows.push([name, pct(acc)]);
  rows.push(['worst case', pct(result.worstCaseAccuracy)]);
  const width = Math.max('attack'.length, ...rows.map(([n]) => n.length));
  const head = `${'attack'.padEnd(width)} | accuracy (n = ${result.examples})`;
  const line = `${'-'.repeat(width)}-+-${'-'.repeat(head.length - width - 3)}`;
  return [head, line, ...rows.map(([n, v]) => `${n.padEnd(width)} | ${v.padStart(7)}`)].join('\n');
}

function attackBatch(model: Classifier, x: Tensor, y: Tensor, attacks: [string, Attack][], seed: number | undefined, index: number): BatchRecord {
  if (seed !== undefined) torch.manualSeed(seed + index);
  const wasTraining = model.training;
  model.eval();
  try {
    return tidy(() => {
      const cleanLogits = noGrad(() => model.forward(x));
      const correct = cleanLogits.argmax(1).eq(y);
      const robust: Record<string, string> = {};
      for (const [name, attack] of attacks) {
        robust[name] = tidy(() => {
          // The batch's clean logits serve every attack: no attack makes a clean pass of its own.
          const r = attack.run(x, y, undefined, { cleanLogits });
          return encode(correct.logicalAnd(r.advPred.eq(y)));
        });
      }
      return { clean: encode(correct), robust };
    });
  } finally {
    model.train(wasTraining);
  }
}

function nameAttacks(attacks: Attack[] | Record<string, Attack>): [string, Attack][] {
  const list: [string, Attack][] = Array.isArray(attacks) ? attacks.map((a) => [a.name, a]) : Object.entries(attacks);
  if (list.length === 0) throw new RangeError('evaluateRobustness: give at least one attack');
  const seen = new Set<string>();
  for (const [n, a] of list) {
    if (!a || typeof a.run !== 'function') throw new TypeError(`evaluateRobustness: '${n}' is not an attack`);
    if (seen.has(n)) throw new RangeError(`evaluateRobustness: two attacks are named '${n}'; pass a record { name: attack } to tell them apart`);
    seen.add(n);
  }
  return list;
}

function fingerprintOf(images: Tensor, labels: Tensor, names: string[], batchSize: number, seed: number | undefined): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ shape: images.shape, dtype: images.dtype, names, batchSize, seed: seed ?? null }));
  tidy(() => {
    h.update(new Uint8Array(images.cpu().contiguous().data().buffer));
    h.update(new Uint8Array(labels.cpu().contiguous().data().buffer));
  });
  return h.digest('hex');
}

function readCheckpoint(path: string, fingerprint: string): CheckpointFile {
  let parsed: CheckpointFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as CheckpointFile;
  } catch (e) {
    throw new CheckpointMismatchError(`evaluateRobustness: cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  if (parsed.format !== 'robusta-evaluation' || parsed.version !== 1) {
    throw new CheckpointMismatchError(`evaluateRobustness: ${path} is not a robusta evaluation checkpoint`);
  }
  if (parsed.fingerprint !== fingerprint) {
    throw new CheckpointMismatchError(`evaluateRobustness: checkpoint ${path} was written for other data, attacks, batch size or seed`);
  }
  return parsed;
}

/** Writes text atomically (temporary file, fsync, rename, directory fsync): io's writer. */
export function writeAtomically(path: string, text: string): void {
  writeFileAtomic(path, (write) => write(Buffer.from(text, 'utf8')));
}

function encodeStream(s: RandomStreamState | null): Record<string, string> | null {
  return s ? Object.fromEntries(Object.entries(s).map(([d, b]) => [d, Buffer.from(b).toString('base64')])) : null;
}

function restoreStreams(attacks: [string, Attack][], saved: CheckpointFile['streams']): void {
  for (const [name, attack] of attacks) {
    const s = saved?.[name];
    attack.restoreRandomStream(s ? Object.fromEntries(Object.entries(s).map(([d, b]) => [d, new Uint8Array(Buffer.from(b, 'base64'))])) : null);
  }
}

const encode = (t: Tensor): string => t.toFlatArray().map((v) => (v ? '1' : '0')).join('');
function decode(s: string, count: number): boolean[] {
  if (typeof s !== 'string' || s.length !== count) throw new CheckpointMismatchError('evaluateRobustness: corrupt batch record in checkpoint');
  return Array.from(s, (c) => c === '1');
}
const mean = (a: boolean[]): number => (a.length === 0 ? 0 : a.filter(Boolean).length / a.length);
const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
function worstCase(clean: boolean[], robust: Record<string, boolean[]>, names: string[]): boolean[] {
  return clean.map((c, i) => c && names.every((n) => robust[n]![i]));
}
