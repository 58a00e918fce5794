// robusta eval: clean, FGSM, PGD-k and AutoAttack accuracy of a checkpoint on the first n test
// examples, as a table or as JSON in the RobustBench layout. Resumable with --resume FILE.
import { evaluation, models } from 'robusta';
import { parse, parseInteger, parseNumber, required, UsageError } from '../args.js';
import { checkDataset, loadSplit, loadWeights, normalizationOf } from '../setup.js';

export const usage = `robusta eval --model mnist-cnn --weights runs/x/best.pt --dataset mnist [options]
  --model NAME       the zoo model the weights belong to
  --weights FILE     torch.save checkpoint (a state_dict, or robusta's training checkpoint) or .safetensors
  --dataset NAME     mnist (default), fashion-mnist, cifar10, cifar100
  --split NAME       test (default) or train
  --n N              the first N examples (default 1000)
  --eps X            budget (default: 0.3 for MNIST, 8/255 for CIFAR); --norm Linf (default) or L2
  --attacks LIST     comma-separated: fgsm, pgd, autoattack (default fgsm,pgd,autoattack)
  --steps N          PGD iterations (default 10)   --batch-size N (default 100)
  --resume FILE      record finished batches in FILE and skip them when re-run
  --json             print the report as one JSON object (RobustBench fields under "robustbench")`;

export async function runEval(argv: string[]): Promise<void> {
  const o = parse(argv, {
    model: { type: 'string', default: 'mnist-cnn' }, weights: { type: 'string' }, dataset: { type: 'string', default: 'mnist' },
    split: { type: 'string', default: 'test' }, n: { type: 'string' }, eps: { type: 'string' }, norm: { type: 'string', default: 'Linf' },
    attacks: { type: 'string', default: 'fgsm,pgd,autoattack' }, steps: { type: 'string' }, 'batch-size': { type: 'string' },
    resume: { type: 'string' }, json: { type: 'boolean' }, seed: { type: 'string' },
  });
  const dataset = checkDataset(o.dataset as string);
  const split = o.split as string;
  if (split !== 'test' && split !== 'train') throw new UsageError(`--split must be test or train, got '${split}'`);
  const norm = o.norm as string;
  if (norm !== 'Linf' && norm !== 'L2') throw new UsageError(`--norm must be Linf or L2, got '${norm}'`);
  const mnistLike = dataset === 'mnist' || dataset === 'fashion-mnist';
  const eps = parseNumber('eps', o.eps as string | undefined, norm === 'L2' ? (mnistLike ? 2 : 0.5) : mnistLike ? 0.3 : 8 / 255);
  const attackList = (o.attacks as string).split(',').map((s) => s.trim()).filter(Boolean) as evaluation.BenchmarkAttack[];
  const examples = await loadSplit(dataset, split);
  const model = models.createModel(o.model as string, { normalize: normalizationOf(dataset), numClasses: examples.classes.length });
  try {
    loadWeights(model, required('weights', o.weights));
    model.eval();
    const interactive = process.stderr.isTTY && !o.json;
    const report = evaluation.benchmarkRobustness(model, examples, {
      modelName: o.model as string, dataset, threatModel: norm, eps, n: parseInteger('n', o.n as string | undefined, 1000, 1),
      attacks: attackList, pgdSteps: parseInteger('steps', o.steps as string | undefined, 10, 1),
      batchSize: parseInteger('batch-size', o['batch-size'] as string | undefined, 100, 1),
      seed: parseInteger('seed', o.seed as string | undefined, 0), checkpointPath: o.resume as string | undefined,
      onProgress: (p) => {
        const robust = Object.entries(p.robustAccuracy).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join('  ');
        const line = `[${p.batch}/${p.batches}] ${p.examples}/${p.total} clean ${(p.cleanAccuracy * 100).toFixed(1)}%  ${robust}${p.resumed ? ' (resumed)' : ''}`;
        if (interactive) process.stderr.write(`\r${line}`);
        else if (!o.json) process.stderr.write(`${line}\n`);
      },
    });
    if (interactive) process.stderr.write('\n');
    console.log(o.json ? JSON.stringify(report) : report.table);
  } finally {
    model.dispose();
    examples.dispose();
  }
}
