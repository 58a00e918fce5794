// Test support for the kill -9 resume test: one training command, run in a child process. Importing
// this module does nothing; runResumeJob() is the "command" (the same arguments every time).
import * as torch from '@robusta/torch';
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/sgd.js';
import { StepLR } from '../../src/optim/schedules.js';
import { DataLoader } from '../../src/data/loader.js';
import { loadMnist } from '../../src/data/mnist.js';
import { cropFlipAugmentation } from '../../src/data/augment.js';
import { AWP } from '../../src/defenses/awp.js';
import { TRADES } from '../../src/defenses/trades.js';
import { Trainer } from '../../src/train/trainer.js';

export interface ResumeJobArgs {
  outDir: string;
  epochs: number;
  /** Stop (sleep, printing PAUSED) after this 1-based batch of this 1-based epoch, to be killed there. */
  pauseAt?: { epoch: number; batch: number };
}

/** A tiny MNIST net with BatchNorm (buffers to restore). */
export function resumeJobModel(): Sequential {
  return new Sequential(new Conv2d(1, 4, 3, { stride: 2 }), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 13 * 13, 10));
}

export async function runResumeJob(a: ResumeJobArgs): Promise<void> {
  torch.setNumThreads(1);
  torch.manualSeed(11);
  const model = resumeJobModel();
  const train = loadMnist('train');
  const test = loadMnist('test');
  const loader = new DataLoader(train, {
    batchSize: 32, shuffle: true, seed: 5, subset: 256, workers: 0,
    transform: cropFlipAugmentation({ padding: 2, flipProbability: 0 }),
  });
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const schedule = new StepLR(optimizer, { stepSize: 1, gamma: 0.5 });
  // AWP-TRADES with a one-epoch warm-up: random starts (RNG state), weight perturbation, epoch-dependent behaviour.
  const defense = new AWP(new TRADES({ eps: 0.1, alpha: 0.03, steps: 3 }), { warmupEpochs: 1 });
  const trainer = new Trainer({
    model, optimizer, schedule, defense, train: loader, epochs: a.epochs, outDir: a.outDir, seed: 3,
    test, evaluation: { n: 64, steps: 3, batchSize: 64 },
    progress: 'lines', progressEvery: 1, progressStream: process.stdout,
    onBatch: ({ epoch, batch }) => {
      if (a.pauseAt && a.pauseAt.epoch === epoch && a.pauseAt.batch === batch) {
        process.stdout.write('PAUSED\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); // until the SIGKILL
      }
    },
  });
  const summary = await trainer.fit();
  process.stdout.write(`DONE resumedFrom=${summary.resumedFrom} epochsRun=${summary.epochsRun}\n`);
}
