// The trainer in-process on a tiny synthetic task: metrics lines, checkpoints PyTorch can read, best.pt
// by PGD accuracy, progress output, no tensor leaks across epochs, and option checks.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@robusta/torch';
import { hasPyTorch, runPython } from '@robusta/torch/testing';
import { TensorDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { SGD } from '../../src/optim/sgd.js';
import { CosineAnnealingLR } from '../../src/optim/schedules.js';
import { loadStateDict } from '../../src/io/torch-file.js';
import { AT, Standard, TRADES } from '../../src/defenses/index.js';
import { Trainer, TrainingCheckpointError, loadTrainingCheckpoint, disposeCheckpoint, type EpochMetrics } from '../../src/train/index.js';
import { tinyConvNet } from './tiny-model.js';

// One intra-op thread: test files run side by side on few cores, where libtorch's spinning threads oversubscribe.
torch.setNumThreads(1);

function syntheticTask(n: number, seed: number): TensorDataset {
  torch.manualSeed(seed);
  // Class k has a bright k-th column: learnable, so accuracies move.
  const y = torch.randint(0, 5, [n]);
  const x = torch.tidy(() => torch.rand([n, 1, 6, 6]).mul(0.3).add(y.oneHot(6).narrow(1, 0, 6).reshape([n, 1, 1, 6]).mul(0.6)));
  return new TensorDataset(x, y);
}

class Sink {
  text = '';
  isTTY: boolean;
  columns = 120;
  constructor(tty: boolean) { this.isTTY = tty; }
  write(s: string): boolean { this.text += s; return true; }
}

test('trainer: metrics.jsonl per epoch, last.pt/best.pt readable by io and PyTorch, no leaks across epochs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-trainer-'));
  const train = syntheticTask(96, 1);
  const testSet = syntheticTask(48, 2);
  try {
    torch.manualSeed(0);
    const model = tinyConvNet();
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
    const schedule = new CosineAnnealingLR(optimizer, { tMax: 4 });
    const live: number[] = [];
    const sink = new Sink(false);
    const trainer = new Trainer({
      model, optimizer, schedule, defense: new AT({ eps: 0.1, alpha: 0.04, steps: 2 }),
      train: new DataLoader(train, { batchSize: 16, shuffle: true, seed: 1, workers: 0 }), test: testSet,
      evaluation: { n: 32, steps: 2 }, epochs: 4, outDir: dir, progress: 'auto', progressStream: sink,
      onEpoch: () => live.push(torch.memoryStats().liveTensors),
    });
    const summary = await trainer.fit();
    assert.equal(summary.epochsRun, 4);
    assert.equal(summary.resumedFrom, 0);
    // Every step runs in tidy: the number of live tensors is the same after every epoch.
    assert.equal(new Set(live).size, 1, `live tensors per epoch: ${live.join(', ')}`);

    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
    assert.deepEqual(lines.map((m) => m.epoch), [1, 2, 3, 4]);
    for (const m of lines) {
      for (const k of ['loss', 'train_clean_acc', 'train_robust_acc', 'test_clean_acc', 'test_pgd_acc', 'lr', 'seconds', 'images_per_second']) {
        assert.equal(typeof m[k], 'number', `${k} in ${JSON.stringify(m)}`);
      }
      assert.ok((m.test_pgd_acc as number) <= (m.test_clean_acc as number));
    }
    // The cosine schedule stepped once per epoch: the logged lr is the one used during the epoch.
    assert.ok(Math.abs(lines[0]!.lr - 0.1) < 1e-12);
    assert.ok(Math.abs(lines[1]!.lr - 0.1 * (1 + Math.cos(Math.PI / 4)) / 2) < 1e-12);
    assert.ok(lines[3]!.loss < lines[0]!.loss, 'the loss went down');

    // best.pt is the epoch with the highest PGD test accuracy (first one on ties).
    const accs = lines.map((m) => m.test_pgd_acc as number);
    const bestEpoch = accs.indexOf(Math.max(...accs)) + 1;
    assert.equal(summary.bestEpoch, bestEpoch);
    const best = loadTrainingCheckpoint(join(dir, 'best.pt'))!;
    assert.equal(best.epoch, bestEpoch);
    assert.equal(best.bestMetric, Math.max(...accs));
    disposeCheckpoint(best);

    // last.pt: the model's weights are exactly the final ones; io's loadStateDict finds them.
    const weights = loadStateDict(join(dir, 'last.pt'));
    for (const [k, t] of model.stateDict()) {
      assert.ok(Buffer.from(t.contiguous().data().buffer.slice(0)).equals(Buffer.from(weights.get(k)!.data().buffer.slice(0))), k);
    }
    torch.dispose([...weights.values()]);

    // Progress: plain lines when not a TTY, with batches, loss, accuracy and images/s, and an epoch summary.
    assert.match(sink.text, /epoch 1\/4 batch 6\/6 loss \d+\.\d{4} acc \d+\.\d% \d+ img\/s/);
    assert.match(sink.text, /epoch 4\/4 done: loss/);
    assert.doesNotMatch(sink.text, /\r/);

    if (hasPyTorch()) {
      const py = runPython<{ keys: boolean; epoch: number; groups: number; momentum: number[]; rng: number }>(`
ck = torch.load(INPUT['path'])
sd = ck['model_state_dict']
OUTPUT = {'keys': all(k in ck for k in ['model_state_dict', 'optimizer_state_dict', 'scheduler_state_dict', 'rng_state', 'best_metric']), 'epoch': ck['epoch'], 'groups': len(ck['optimizer_state_dict']['param_groups']),
          'momentum': list(ck['optimizer_state_dict']['state'][0]['momentumBuffer'].shape), 'rng': ck['rng_state'].numel()}
torch.set_rng_state(ck['rng_state'])
`, { path: join(dir, 'last.pt') });
      assert.equal(py.epoch, 4);
      assert.equal(py.groups, 1);
      assert.deepEqual(py.momentum, [3, 1, 3, 3]);
      assert.equal(py.keys, true);
      assert.ok(py.rng > 0);
    }

    // Re-running a finished command does nothing; a different defense in the same outDir is refused.
    const again = await new Trainer({
      model, optimizer, schedule, defense: new AT({ eps: 0.1, alpha: 0.04, steps: 2 }),
      train: new DataLoader(train, { batchSize: 16, workers: 0 }), epochs: 4, outDir: dir, progress: 'none',
    }).fit();
    assert.equal(again.epochsRun, 0);
    assert.equal(again.history.length, 4);
    await assert.rejects(new Trainer({
      model, optimizer, defense: new TRADES(), train: new DataLoader(train, { batchSize: 16, workers: 0 }), epochs: 5, outDir: dir, progress: 'none',
    }).fit(), TrainingCheckpointError);
    model.dispose();
    optimizer.dispose();
  } finally {
    train.dispose();
    testSet.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainer: a redrawn bar on a TTY; resume: false starts over; a torn metrics line is dropped on resume', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-trainer-'));
  const train = syntheticTask(32, 3);
  try {
    torch.manualSeed(0);
    const model = tinyConvNet();
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const sink = new Sink(true);
    const make = (epochs: number, resume?: boolean) => new Trainer({
      model, optimizer, defense: new Standard(), train: new DataLoader(train, { batchSize: 8, workers: 0 }), epochs, outDir: dir,
      progressStream: sink, resume,
    });
    await make(1).fit();
    assert.match(sink.text, /\r\x1b\[2Kepoch 1\/1 \[█+░*\] 1\/4/);
    assert.match(sink.text, /4\/4 {2}loss \d+\.\d{4} {2}acc/);
    const metrics = join(dir, 'metrics.jsonl');
    const m1 = JSON.parse(readFileSync(metrics, 'utf8').trim()) as EpochMetrics;
    assert.equal(m1.train_robust_acc, null); // standard training has no adversarial examples
    assert.equal(m1.test_pgd_acc, null); // no test set
    // A crash in the middle of writing a line for epoch 2 leaves half a line; the resumed run drops it.
    writeFileSync(metrics, `${readFileSync(metrics, 'utf8')}{"epoch":2,"loss":`);
    const resumed = await make(2).fit();
    assert.equal(resumed.resumedFrom, 1);
    assert.deepEqual(readFileSync(metrics, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as EpochMetrics).epoch), [1, 2]);
    const fresh = await make(1, false).fit();
    assert.equal(fresh.resumedFrom, 0);
    assert.deepEqual(readFileSync(metrics, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as EpochMetrics).epoch), [1]);
    assert.ok(existsSync(join(dir, 'best.pt')));
    model.dispose();
  } finally {
    train.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trainer: bad options are typed errors', () => {
  const model = tinyConvNet();
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  const train = { length: 1, epoch: () => [] };
  const base = { model, optimizer, defense: new Standard(), train, outDir: '/tmp/x' };
  assert.throws(() => new Trainer({ ...base, epochs: 0 }), RangeError);
  assert.throws(() => new Trainer({ ...base, epochs: 1.5 }), RangeError);
  assert.throws(() => new Trainer({ ...base, epochs: 1, outDir: '' }), TypeError);
  assert.throws(() => new Trainer({ ...base, epochs: 1, scheduleInterval: 'step' as 'epoch' }), RangeError);
  assert.throws(() => new Trainer({ ...base, epochs: 1, defense: {} as Standard }), TypeError);
  model.dispose();
});
