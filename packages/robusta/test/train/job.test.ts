// A training job's seed covers everything: two fresh runs of the same job give the same init.pt and
// the same final weights bit for bit, a run stopped after epoch 1 and resumed ends with them too, and
// another seed gives other initial weights (so the equality is not vacuous).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import * as torch from '@robusta/torch';
import { loadStateDict } from '../../src/io/index.js';
import { runTrainJob, type TrainJob } from '../../src/train/index.js';

torch.setNumThreads(1);

function weights(path: string): Map<string, number[]> {
  const state = loadStateDict(path);
  const out = new Map<string, number[]>();
  for (const [k, t] of state) {
    out.set(k, t.toFlatArray() as number[]);
    t.dispose();
  }
  return out;
}

async function run(job: TrainJob): Promise<void> {
  const r = await runTrainJob(job, { progress: 'none' });
  r.net.dispose();
}

test('the same job twice, and once resumed, gives bit-identical weights; another seed does not', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-job-'));
  try {
    const base: Omit<TrainJob, 'out'> = {
      model: 'mnist-mlp', dataset: 'mnist', defense: 'at', epochs: 2, batchSize: 64, nTrain: 256,
      eps: 0.1, alpha: 0.05, steps: 2, lr: 0.05, evalN: 64, seed: 3,
    };
    await run({ ...base, out: join(root, 'a') });
    await run({ ...base, out: join(root, 'b') });
    await run({ ...base, epochs: 1, out: join(root, 'c') });
    await run({ ...base, out: join(root, 'c') });
    await run({ ...base, seed: 4, epochs: 1, out: join(root, 'd') });
    const a = weights(join(root, 'a', 'last.pt'));
    assert.deepEqual(weights(join(root, 'a', 'init.pt')), weights(join(root, 'b', 'init.pt')), 'init.pt differs between two runs of one job');
    assert.deepEqual(weights(join(root, 'b', 'last.pt')), a, 'two fresh runs of one job ended with different weights');
    assert.deepEqual(weights(join(root, 'c', 'last.pt')), a, 'the resumed run ended with other weights than the uninterrupted one');
    assert.notDeepEqual(weights(join(root, 'd', 'init.pt')), weights(join(root, 'a', 'init.pt')), 'seed 4 gave the initial weights of seed 3');
    assert.notDeepEqual(weights(join(root, 'a', 'init.pt')), a, 'training did not change the weights');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
