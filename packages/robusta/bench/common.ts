// Shared pieces of the side-by-side benchmarks: running the PyTorch half, timing, and reporting.
import { execFileSync } from 'node:child_process';
import { F, getNumThreads, tidy } from '@robusta/torch';
import type { data, defenses, nn, optim } from '../src/index.js';
import { pythonPath } from '@robusta/torch/testing';

export const THREADS = getNumThreads();

/** robusta's addon tunes glibc malloc at load (engine-facts.md); the PyTorch side gets the same tuning. */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), MALLOC_TOP_PAD_: String(64 * 1024 * 1024) };

/** Runs a PyTorch script (same thread count) and returns the JSON object it prints last. */
export function runPyTorch<T>(script: string, env: Record<string, string> = {}): T {
  const prelude = `import json, time, resource, torch\ntorch.set_num_threads(${THREADS})\n`;
  const out = execFileSync(pythonPath(), ['-c', prelude + script], { encoding: 'utf8', env: { ...process.env, ...MALLOC_ENV, ...env }, maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** Peak resident memory of this process in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export function row(label: string, robusta: number, pytorch: number, digits = 2): string {
  return `${label.padEnd(34)}${robusta.toFixed(digits).padStart(10)}${pytorch.toFixed(digits).padStart(10)}${(robusta / pytorch).toFixed(2).padStart(8)}`;
}

export function header(title: string): string {
  return `${title}\n${'measure'.padEnd(34)}${'robusta'.padStart(10)}${'PyTorch'.padStart(10)}${'ratio'.padStart(8)}`;
}

/** The IDX files robusta's MNIST loader reads, for the PyTorch side to read the same bytes. */
export const MNIST_PY = `
import numpy as np, os
def idx(path):
    b = open(path, 'rb').read()
    nd = b[3]; dims = [int.from_bytes(b[4 + 4 * i: 8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
def mnist(d, split):
    p = 'train' if split == 'train' else 't10k'
    x = torch.from_numpy(idx(os.path.join(d, p + '-images-idx3-ubyte')).copy()).float().div(255).unsqueeze(1)
    y = torch.from_numpy(idx(os.path.join(d, p + '-labels-idx1-ubyte')).copy()).long()
    return x, y
def mnist_cnn():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1, stride=2), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1, stride=2), nn.ReLU(),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 100), nn.ReLU(), nn.Linear(100, 10))
`;

/** The median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "min–max" of a non-empty list, for printing the spread of repeated timings. */
export function spread(xs: readonly number[], digits = 2): string {
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}

/** A row of free text in the columns of row(): label, robusta, PyTorch, and an optional last column. */
export function textRow(label: string, robusta: string, pytorch: string, last = ''): string {
  return `${label.padEnd(34)}${robusta.padStart(10)}${pytorch.padStart(10)}${last.padStart(8)}`;
}

/** A row of medians over repeated alternating runs, with each side's min–max spread after the ratio. */
export function sampleRow(label: string, robusta: readonly number[], pytorch: readonly number[], digits = 2): string {
  return `${row(label, median(robusta), median(pytorch), digits)}   ${spread(robusta, digits)} | ${spread(pytorch, digits)}`;
}

/** The header for sampleRow() rows. */
export function sampleHeader(title: string): string {
  return `${header(title)}   spread (min–max): robusta | PyTorch`;
}

/** One epoch of adversarial training as the AT benches run it: x' = at.generate(x), one SGD/Adam step on CE(f(x'), y). */
export function atEpoch(model: nn.Module, opt: optim.Optimizer, at: defenses.AT, loader: data.DataLoader, epoch: number): void {
  model.train();
  for (const batch of loader.epoch(epoch)) {
    tidy(() => {
      const xAdv = at.generate(model, batch.x, batch.y);
      const loss = F.crossEntropy(model.forward(xAdv), batch.y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    batch.x.dispose();
    batch.y.dispose();
  }
}
