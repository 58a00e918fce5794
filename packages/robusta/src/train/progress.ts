// Per-epoch progress: a redrawn bar on a terminal, plain lines otherwise (logs, CI, pipes).
//   TTY:   epoch 2/10 [████████░░░░░░░░] 37/120  loss 1.2345  acc 45.6%  1234 img/s
//   lines: epoch 2/10 batch 37/120 loss 1.2345 acc 45.6% 1234 img/s

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressState {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export class ProgressReporter {
  private readonly mode: 'bar' | 'lines' | 'none';
  private lastDraw = 0;

  /** `every`: in lines mode, print every n batches (default: ~10 lines per epoch). */
  constructor(private readonly stream: ProgressStream, mode: ProgressMode = 'auto', private readonly every?: number) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
    if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new RangeError(`progress: every must be a positive integer, got ${every}`);
  }

  update(s: ProgressState): void {
    if (this.mode === 'none') return;
    const last = s.batch === s.batches;
    const stats = `loss ${s.loss.toFixed(4)}  acc ${(100 * s.accuracy).toFixed(1)}%  ${Math.round(s.imagesPerSecond)} img/s`;
    if (this.mode === 'bar') {
      const now = Date.now();
      if (!last && now - this.lastDraw < 100) return; // at most 10 redraws a second
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((width * s.batch) / Math.max(1, s.batches));
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      let line = `epoch ${s.epoch}/${s.epochs} [${bar}] ${s.batch}/${s.batches}  ${stats}`;
      if (this.stream.columns && line.length > this.stream.columns - 1) line = line.slice(0, this.stream.columns - 1);
      this.stream.write(`\r\x1b[2K${line}${last ? '\n' : ''}`);
      return;
    }
    const every = this.every ?? Math.max(1, Math.ceil(s.batches / 10));
    if (s.batch % every === 0 || last) {
      this.stream.write(`epoch ${s.epoch}/${s.epochs} batch ${s.batch}/${s.batches} ${stats.replace(/ {2}/g, ' ')}\n`);
    }
  }

  /** A line of its own (epoch summaries), after the bar. */
  message(text: string): void {
    if (this.mode !== 'none') this.stream.write(`${text}\n`);
  }
}
