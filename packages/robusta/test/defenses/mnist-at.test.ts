// A short adversarial training run on MNIST: 200 steps at ε = 0.1 on a subset, with the
// Trainer. Madry's AT must beat standard training on PGD accuracy by a wide margin.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '@robusta/torch';
import { loadMnist } from '../../src/data/mnist.js';
import { DataLoader } from '../../src/data/loader.js';
import { createModel } from '../../src/models/index.js';
import { SGD } from '../../src/optim/sgd.js';
import { AT, Standard, type DefenseLoss } from '../../src/defenses/index.js';
import { Trainer } from '../../src/train/index.js';
import { pgdAccuracy } from '../../src/eval/index.js';

// One intra-op thread: test files run side by side on few cores, where libtorch's spinning threads oversubscribe.
torch.setNumThreads(1);

const EPS = 0.1;

test('MNIST, ε = 0.1: AT\'s PGD-10 test accuracy beats standard training\'s by a wide margin', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-mnist-at-'));
  const train = loadMnist('train');
  const testSet = loadMnist('test');
  try {
    const run = async (defense: DefenseLoss, dir: string) => {
      torch.manualSeed(0);
      const model = createModel('mnist-mlp');
      const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const trainer = new Trainer({
        model, optimizer, defense, epochs: 2, outDir: join(root, dir), progress: 'none',
        train: new DataLoader(train, { batchSize: 50, shuffle: true, seed: 1, subset: 5000, workers: 0 }), // 100 steps per epoch, 200 in all
      });
      const summary = await trainer.fit();
      const r = pgdAccuracy(model, testSet, { n: 400, eps: EPS, steps: 10 });
      model.dispose();
      return { ...r, summary };
    };
    const standard = await run(new Standard(), 'standard');
    const at = await run(new AT({ eps: EPS, alpha: 0.03, steps: 5 }), 'at');
    const msg = `standard: clean ${standard.cleanAccuracy}, PGD ${standard.robustAccuracy}; AT: clean ${at.cleanAccuracy}, PGD ${at.robustAccuracy}`;
    assert.ok(standard.cleanAccuracy > 0.8, msg);
    assert.ok(at.cleanAccuracy > 0.8, msg);
    // Measured: standard ≈ 26% vs AT ≈ 64% PGD-10 accuracy.
    assert.ok(at.robustAccuracy - standard.robustAccuracy > 0.25, msg);
    assert.equal(at.summary.history.length, 2);
    // Robust training accuracy is logged for AT, not for standard training.
    assert.equal(standard.summary.history[0]!.train_robust_acc, null);
    assert.ok((at.summary.history[1]!.train_robust_acc as number) > 0.4, msg);
    console.log(`# ${msg}`);
  } finally {
    train.dispose();
    testSet.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});
