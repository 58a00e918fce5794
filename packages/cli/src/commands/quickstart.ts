// robusta quickstart: the first thing to run. On the MNIST that ships with robusta (no download),
// trains the tutorial CNN (or reuses the model an earlier run saved), then attacks it:
// clean, FGSM and PGD accuracy at ε = 0.1 and 0.3 on the first n test examples.
import { join } from 'node:path';
import { evaluation } from 'robusta';
import { parse, parseInteger } from '../args.js';
import { loadSplit } from '../setup.js';
import { trainJob } from './train.js';

export const usage = `robusta quickstart [--out runs/quickstart] [--epochs 2] [--n 1000] [--json]
  Trains the MNIST CNN of the adversarial-robustness tutorial with standard training (resumes or reuses
  what --out holds), then prints clean, FGSM and PGD-20 accuracy at ε = 0.1 and 0.3.`;

export async function runQuickstart(argv: string[]): Promise<void> {
  const o = parse(argv, {
    out: { type: 'string', default: join('runs', 'quickstart') }, epochs: { type: 'string' }, n: { type: 'string' }, json: { type: 'boolean' },
  });
  const epochs = parseInteger('epochs', o.epochs as string | undefined, 2, 1);
  const n = parseInteger('n', o.n as string | undefined, 1000, 1);
  const out = o.out as string;
  if (!o.json) console.log(`training mnist-cnn on MNIST (standard training, ${epochs} epochs; checkpoints in ${out})`);
  // The tutorial's recipe: SGD lr 0.1, batch 100; the per-epoch PGD check at ε = 0.1 on 500 test images.
  const { net, summary } = await trainJob({
    model: 'mnist-cnn', dataset: 'mnist', defense: 'standard', epochs, out, batchSize: 100, lr: 0.1, momentum: 0, weightDecay: 0,
    evalN: 500, evalEps: 0.1,
  });
  const test = await loadSplit('mnist', 'test');
  try {
    net.eval();
    const reports = [0.1, 0.3].map((eps) => evaluation.benchmarkRobustness(net, test, {
      modelName: 'mnist-cnn', dataset: 'mnist', eps, n, attacks: ['fgsm', 'pgd'], pgdSteps: 20, batchSize: 500,
    }));
    if (o.json) {
      console.log(JSON.stringify({
        epochs: summary.history.length, clean: reports[0]!.cleanAccuracy,
        eps: Object.fromEntries(reports.map((r) => [String(r.eps), { fgsm: r.robustAccuracy.FGSM, pgd: r.robustAccuracy['PGD-20'] }])),
      }));
      return;
    }
    const pct = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(1)}%`).padStart(9);
    console.log(`\nmnist-cnn after ${summary.history.length} epochs, first ${reports[0]!.examples} MNIST test images`);
    console.log(`${'attack'.padEnd(8)}${'ε = 0.1'.padStart(9)}${'ε = 0.3'.padStart(9)}`);
    console.log(`${'clean'.padEnd(8)}${pct(reports[0]!.cleanAccuracy)}${pct(reports[1]!.cleanAccuracy)}`);
    console.log(`${'FGSM'.padEnd(8)}${pct(reports[0]!.robustAccuracy.FGSM)}${pct(reports[1]!.robustAccuracy.FGSM)}`);
    console.log(`${'PGD-20'.padEnd(8)}${pct(reports[0]!.robustAccuracy['PGD-20'])}${pct(reports[1]!.robustAccuracy['PGD-20'])}`);
    console.log(`\nnext: robusta train --defense at --eps 0.1 ... ; robusta eval ... ; robusta help`);
  } finally {
    net.dispose();
    test.dispose();
  }
}
