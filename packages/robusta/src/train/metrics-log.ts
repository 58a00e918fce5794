// metrics.jsonl: one JSON object per completed epoch. Lines are appended with fsync; on resume the
// file is cut back (atomically) to the epochs the checkpoint covers, so a line written just before
// a crash, or half a line, never survives into the resumed run.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic-write.js';

export interface EpochMetrics {
  /** 1-based: the number of epochs completed with this one. */
  epoch: number;
  /** Mean training loss over the epoch's examples. */
  loss: number;
  train_clean_acc: number;
  /** Accuracy on the defense's own adversarial examples (null for standard training). */
  train_robust_acc: number | null;
  /** On the fixed evaluation subset (null without a test set). */
  test_clean_acc: number | null;
  test_pgd_acc: number | null;
  /** Learning rate during the epoch (first parameter group). */
  lr: number;
  seconds: number;
  images_per_second: number;
  [extra: string]: unknown;
}

export class MetricsLog {
  constructor(readonly path: string) {}

  /** Keeps the lines of epochs ≤ completedEpochs (0: empties the file). */
  truncateTo(completedEpochs: number): void {
    const kept = this.read().filter((m) => m.epoch <= completedEpochs);
    const text = kept.map((m) => `${JSON.stringify(m)}\n`).join('');
    writeFileAtomic(this.path, (write) => write(new TextEncoder().encode(text)));
  }

  append(m: EpochMetrics): void {
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, `${JSON.stringify(m)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** The complete lines (a torn last line is skipped). */
  read(): EpochMetrics[] {
    if (!existsSync(this.path)) return [];
    const out: EpochMetrics[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const m = JSON.parse(line) as EpochMetrics;
        if (typeof m.epoch === 'number') out.push(m);
      } catch {
        // a line cut by a crash
      }
    }
    return out;
  }
}
