// The trainer in-process on a tiny synthetic task: metrics lines, checkpoints PyTorch can read, best.pt
// by PGD accuracy, progress output, no tensor leaks across epochs, and option checks.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@robusta/torch';
import { pyTorchSkip, runPython, type PyTensor } from '@robusta/torch/testing';
import { TensorDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { SGD } from '../../src/optim/sgd.js';
import { CosineAnnealingLR, OneCycleLR } from '../../src/optim/schedules.js';
import { loadStateDict, loadTorchFile, saveTorchFile } from '../../src/io/torch-file.js';
import { AT, Standard, TRADES } from '../../src/defenses/index.js';
import { Trainer, TrainingCheckpointError, loadTrainingCheckpoint, disposeCheckpoint, type EpochMetrics } from '../../src/train/index.js';
import { saveTrainingCheckpoint } from '../../src/train/checkpoint.js';
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
      onEpoch: () => live.push(torch.tensorsNotDisposed()),
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

test('the checkpoint\'s optimizer state is in torch.optim\'s layout; PyTorch loads it into SGD and its next step equals robusta\'s', { skip: pyTorchSkip() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-trainer-'));
  const train = syntheticTask(48, 4);
  try {
    torch.manualSeed(3);
    const model = tinyConvNet();
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
    const schedule = new CosineAnnealingLR(optimizer, { tMax: 4 });
    await new Trainer({
      model, optimizer, schedule, defense: new Standard(), train: new DataLoader(train, { batchSize: 16, workers: 0 }),
      epochs: 2, outDir: dir, progress: 'none',
    }).fit();
    const path = join(dir, 'last.pt');
    const names = model.namedParameters().map(([n]) => n);
    // The next step's gradients, the same on both sides.
    torch.manualSeed(11);
    const grads = model.parameters().map((p) => torch.keep(torch.randn(p.shape)));

    // robusta: a fresh model and optimizer resumed from the checkpoint, one step.
    const ck = loadTrainingCheckpoint(path)!;
    const resumedModel = tinyConvNet();
    resumedModel.loadStateDict(ck.model);
    const resumed = new SGD(resumedModel.parameters(), { lr: 99 });
    resumed.loadStateDict(ck.optimizer);
    disposeCheckpoint(ck);
    resumedModel.parameters().forEach((p, i) => { p.grad = grads[i]!.clone(); });
    resumed.step();

    const py = runPython<{ state_keys: number; has_momentum_buffer: boolean; group: Record<string, unknown>; params: PyTensor[] }>(`
ck = torch.load(INPUT['path'])
sd = ck['model_state_dict']
params = [sd[n].clone().requires_grad_() for n in INPUT['names']]
opt = torch.optim.SGD(params, lr=99.0)
opt.load_state_dict(ck['optimizer_state_dict'])
for p, g in zip(params, INPUT['grads']): p.grad = T(g)
opt.step()
group = {k: v for k, v in opt.param_groups[0].items() if isinstance(v, (int, float, bool, type(None)))}
OUTPUT = {'state_keys': len(ck['optimizer_state_dict']['state'][0]), 'has_momentum_buffer': 'momentum_buffer' in ck['optimizer_state_dict']['state'][0], 'group': group, 'params': params}
`, { path, names, grads });
    assert.ok(py.has_momentum_buffer && py.state_keys === 1, 'torch.optim.SGD keeps its momentum in momentum_buffer');
    assert.equal(py.group.weight_decay, 5e-4);
    assert.equal(py.group.momentum, 0.9);
    assert.equal(py.group.initial_lr, 0.1, 'the schedule\'s initial lr is where torch.optim.lr_scheduler looks for it');
    assert.equal(py.group.lr, resumed.paramGroups[0]!.lr, 'the lr comes from the checkpoint, not the constructor');
    assert.ok(py.group.lr !== 0.1 && py.group.lr !== 99, `lr after two cosine epochs: ${String(py.group.lr)}`);
    // PyTorch's step used the saved momentum buffer and weight decay: parameters equal robusta's.
    resumedModel.parameters().forEach((p, i) => {
      const want = py.params[i]!.data;
      const got = p.toFlatArray();
      const err = Math.max(...got.map((v, j) => Math.abs(v - want[j]!)));
      assert.ok(err < 1e-6, `${names[i]}: robusta and PyTorch differ by ${err} after the resumed step`);
    });
    // Without the momentum buffer (a key PyTorch does not know) the step would differ: the check can fail.
    const noMomentum = runPython<{ params: PyTensor[] }>(`
ck = torch.load(INPUT['path'])
params = [ck['model_state_dict'][n].clone().requires_grad_() for n in INPUT['names']]
opt = torch.optim.SGD(params, lr=99.0)
osd = ck['optimizer_state_dict']
osd['state'] = {i: {'momentumBuffer': s['momentum_buffer']} for i, s in osd['state'].items()}
opt.load_state_dict(osd)
for p, g in zip(params, INPUT['grads']): p.grad = T(g)
opt.step()
OUTPUT = {'params': params}
`, { path, names, grads });
    const last = resumedModel.parameters().length - 1;
    const gap = Math.max(...resumedModel.parameters()[last]!.toFlatArray().map((v, j) => Math.abs(v - noMomentum.params[last]!.data[j]!)));
    assert.ok(gap > 1e-4, `a step without the momentum buffer differs (${gap})`);
    torch.dispose(grads);
    resumed.dispose();
    resumedModel.dispose();
    optimizer.dispose();
    model.dispose();
  } finally {
    train.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('per-batch schedule (OneCycleLR): every batch\'s lr and momentum are PyTorch\'s, also across a resume after a crash mid-epoch', { skip: pyTorchSkip() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-trainer-'));
  const train = syntheticTask(48, 6); // 3 batches of 16 per epoch, 3 epochs: 9 steps
  const run = async (outDir: string, crashAt?: { epoch: number; batch: number }) => {
    torch.manualSeed(0);
    const model = tinyConvNet();
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const schedule = new OneCycleLR(optimizer, { maxLr: 0.5, totalSteps: 9 });
    const seen: { at: string; lr: number; momentum: number }[] = [];
    const trainer = new Trainer({
      model, optimizer, schedule, scheduleInterval: 'batch', defense: new Standard(),
      train: new DataLoader(train, { batchSize: 16, shuffle: true, seed: 2, workers: 0 }), epochs: 3, outDir, progress: 'none',
      onBatch: ({ epoch, batch }) => {
        if (crashAt && epoch === crashAt.epoch && batch === crashAt.batch) throw new Error('simulated crash');
        // After the step and the schedule's step: the values the next batch will use.
        seen.push({ at: `${epoch}.${batch}`, lr: optimizer.paramGroups[0]!.lr, momentum: optimizer.paramGroups[0]!.momentum as number });
      },
    });
    try {
      await trainer.fit();
    } catch (e) {
      if (!crashAt) throw e;
    }
    const weights = [...model.stateDict()].map(([k, t]) => [k, t.toFlatArray()] as const);
    optimizer.dispose();
    model.dispose();
    return { seen, weights };
  };
  try {
    const py = runPython<{ lr: number[]; momentum: number[] }>(`
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=9)
lr, momentum = [], []
for _ in range(9):
    opt.step(); s.step()
    lr.append(opt.param_groups[0]['lr']); momentum.append(opt.param_groups[0]['momentum'])
OUTPUT = {'lr': lr, 'momentum': momentum}
`);
    const straight = await run(join(dir, 'straight'));
    assert.deepEqual(straight.seen.map((v) => v.at), ['1.1', '1.2', '1.3', '2.1', '2.2', '2.3', '3.1', '3.2', '3.3']);
    straight.seen.forEach((v, k) => {
      assert.ok(Math.abs(v.lr - py.lr[k]!) < 1e-12, `lr after step ${k + 1}: ${v.lr} vs PyTorch ${py.lr[k]}`);
      assert.ok(Math.abs(v.momentum - py.momentum[k]!) < 1e-12, `momentum after step ${k + 1}: ${v.momentum} vs PyTorch ${py.momentum[k]}`);
    });
    // Crash in epoch 2: last.pt holds epoch 1 (3 schedule steps); a fresh process resumes there.
    await run(join(dir, 'crashed'), { epoch: 2, batch: 2 });
    const resumed = await run(join(dir, 'crashed'));
    assert.deepEqual(resumed.seen.map((v) => v.at), ['2.1', '2.2', '2.3', '3.1', '3.2', '3.3']);
    resumed.seen.forEach((v, k) => assert.equal(v.lr, straight.seen[k + 3]!.lr, `lr after step ${k + 4} of the resumed run`));
    assert.deepEqual(resumed.weights, straight.weights, 'the resumed run ends with the uninterrupted run\'s weights');
  } finally {
    train.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('optimizer keys: written snake_case, read back camelCase; checkpoints written with camelCase keys still load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-trainer-'));
  try {
    const buffer = torch.tensor([1, 2, 3]);
    const common = {
      format: 'robusta-training', version: 1, epoch: 1, defense: 'standard', best_metric: null, best_epoch: null, metrics: null,
      model_state_dict: new Map([['w', torch.tensor([0, 0, 0])]]), scheduler_state_dict: null, rng_state: torch.getRngState(), cuda_rng_state: null,
    };
    // The layout before the snake_case keys.
    saveTorchFile(join(dir, 'old.pt'), {
      ...common,
      optimizer_state_dict: { state: new Map([[0, { momentumBuffer: buffer }]]), param_groups: [{ lr: 0.1, weightDecay: 5e-4, initialLr: 0.2, params: [0] }] },
    });
    const old = loadTrainingCheckpoint(join(dir, 'old.pt'))!;
    assert.deepEqual((old.optimizer.state[0]!.momentumBuffer as torch.Tensor).tolist(), [1, 2, 3]);
    assert.deepEqual(old.optimizer.paramGroups, [{ lr: 0.1, weightDecay: 5e-4, initialLr: 0.2, params: [0] }]);
    // What the trainer writes now: snake_case in the file, camelCase again in robusta.
    saveTrainingCheckpoint(join(dir, 'new.pt'), { ...old, epoch: 2 });
    disposeCheckpoint(old);
    const raw = loadTorchFile(join(dir, 'new.pt')) as Map<string, unknown>;
    const osd = raw.get('optimizer_state_dict') as Map<string, unknown>;
    assert.deepEqual([...((osd.get('state') as Map<number, Map<string, unknown>>).get(0)!.keys())], ['momentum_buffer']);
    assert.deepEqual([...(osd.get('param_groups') as Map<string, unknown>[])[0]!.keys()], ['lr', 'weight_decay', 'initial_lr', 'params']);
    torch.dispose(raw);
    const again = loadTrainingCheckpoint(join(dir, 'new.pt'))!;
    assert.deepEqual((again.optimizer.state[0]!.momentumBuffer as torch.Tensor).tolist(), [1, 2, 3]);
    assert.deepEqual(again.optimizer.paramGroups, [{ lr: 0.1, weightDecay: 5e-4, initialLr: 0.2, params: [0] }]);
    disposeCheckpoint(again);
    buffer.dispose();
  } finally {
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
