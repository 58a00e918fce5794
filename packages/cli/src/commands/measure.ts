// robusta measure: the robustness measures of one checkpoint (weight norms, margins, smoothness,
// flatness, boundary thickness, losses, accuracies and the robust generalization gap), each with the
// seconds it took; a table, or --json.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { io, measures, models, type nn } from 'robusta';
import { parse, parseInteger, parseNumber, UsageError } from '../args.js';
import { checkDataset, loadSplit, loadWeights, normalizationOf } from '../setup.js';

export const usage = `robusta measure --model mnist-cnn --weights runs/x/best.pt --dataset mnist [options]
  --model NAME        the zoo model the weights belong to
  --weights FILE      torch.save checkpoint or .safetensors (or --random-weights)
  --init FILE         weights at initialisation, for distance from init (default: init.pt beside --weights)
  --dataset NAME      mnist (default), fashion-mnist, cifar10, cifar100
  --measures LIST     all (default), cheap, or comma-separated names (robusta measure --list)
  --n N               the first N train and test examples (default 1000)   --batch-size N (default 200)
  --split NAME        train (default) or test: where the example-based measures run
  --eps X --alpha X --steps N --norm Linf|L2   the PGD of the adversarial measures and the gap
                      (default: ε 0.3 MNIST / 8/255 CIFAR, 10 steps, α 2.5ε/steps)
  --seed N            seeds every random draw (default 0)
  --list              list the measures with unit, cost and the sign their paper predicts
  --json              one JSON object: settings, measures (value, seconds, error), warnings`;

function listText(): string {
  const rows = measures.listMeasures().map((m) => [m.name, m.family, m.cost, m.unit, m.direction > 0 ? 'τ<0' : m.direction < 0 ? 'τ>0' : '', m.description]);
  const w = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), 4));
  return [
    'measure, family, cost, unit, sign of τ with the gap its paper predicts, description',
    ...rows.map((r) => `${r.slice(0, 5).map((c, i) => c.padEnd(w[i]!)).join('  ')}  ${r[5]}`),
  ].join('\n');
}

export async function runMeasure(argv: string[]): Promise<void> {
  const o = parse(argv, {
    model: { type: 'string', default: 'mnist-cnn' }, weights: { type: 'string' }, 'random-weights': { type: 'boolean' }, init: { type: 'string' },
    dataset: { type: 'string', default: 'mnist' }, measures: { type: 'string', default: 'all' }, n: { type: 'string' },
    'batch-size': { type: 'string' }, split: { type: 'string', default: 'train' }, eps: { type: 'string' }, alpha: { type: 'string' },
    steps: { type: 'string' }, norm: { type: 'string', default: 'Linf' }, seed: { type: 'string' }, list: { type: 'boolean' }, json: { type: 'boolean' },
  });
  if (o.list) {
    console.log(o.json ? JSON.stringify(measures.listMeasures().map(({ compute: _c, ...m }) => m)) : listText());
    return;
  }
  const dataset = checkDataset(o.dataset as string);
  const split = o.split as string;
  if (split !== 'train' && split !== 'test') throw new UsageError(`--split must be train or test, got '${split}'`);
  const norm = o.norm as string;
  if (norm !== 'Linf' && norm !== 'L2') throw new UsageError(`--norm must be Linf or L2, got '${norm}'`);
  if (!models.isModelName(o.model as string)) throw new UsageError(`unknown model '${o.model}' (known: ${models.MODEL_NAMES.join(', ')})`);
  const weights = o.weights as string | undefined;
  if (!weights && !o['random-weights']) throw new UsageError('--weights FILE is required (or --random-weights)');
  if (weights && !existsSync(weights)) throw new UsageError(`--weights: no such file ${weights}`);
  let selected: measures.MeasureDefinition[];
  try {
    selected = measures.selectMeasures(o.measures as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const mnistLike = dataset === 'mnist' || dataset === 'fashion-mnist';
  const eps = parseNumber('eps', o.eps as string | undefined, norm === 'L2' ? (mnistLike ? 2 : 0.5) : mnistLike ? 0.3 : 8 / 255);
  if (eps < 0) throw new UsageError(`--eps must be >= 0, got ${eps}`);
  const steps = parseInteger('steps', o.steps as string | undefined, 10, 1);
  const initPath = (o.init as string | undefined) ?? (weights && existsSync(join(dirname(weights), 'init.pt')) ? join(dirname(weights), 'init.pt') : undefined);
  const [train, test] = [await loadSplit(dataset, 'train'), await loadSplit(dataset, 'test')];
  const model = models.createModel(o.model as string, { normalize: normalizationOf(dataset), numClasses: train.classes.length });
  let initial: nn.StateDict | null = null;
  try {
    if (weights) loadWeights(model, weights);
    if (initPath) initial = io.loadStateDict(initPath);
    const interactive = process.stderr.isTTY && !o.json;
    const report = measures.computeMeasures(model, { train, test }, {
      measures: selected.map((m) => m.name), n: parseInteger('n', o.n as string | undefined, 1000, 1),
      batchSize: parseInteger('batch-size', o['batch-size'] as string | undefined, 200, 1), split,
      seed: parseInteger('seed', o.seed as string | undefined, 0),
      attack: { norm, eps, steps, alpha: o.alpha === undefined ? undefined : parseNumber('alpha', o.alpha as string) },
      initialState: initial,
      onProgress: (p) => {
        if (o.json) return;
        const line = `[${p.index + 1}/${p.total}] ${p.name}${p.done ? ` ${p.seconds!.toFixed(2)} s` : ' …'}`;
        if (interactive) process.stderr.write(`\r\x1b[2K${line}`);
        else if (p.done) process.stderr.write(`${line}\n`);
      },
    });
    if (interactive) process.stderr.write('\r\x1b[2K');
    for (const w of report.warnings) console.error(`warning: ${w}`);
    if (o.json) {
      console.log(JSON.stringify({ model: o.model, weights: weights ?? null, dataset, ...report }));
      return;
    }
    const rows = report.measures.map((m) => [m.name, Number.isFinite(m.value) ? formatValue(m.value) : 'NaN', m.unit, m.seconds.toFixed(2), m.error ?? '']);
    const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['measure', 'value', 'unit', 's'][i]!.length));
    const a = report.settings.attack;
    console.log(`${o.model} on ${dataset} (${split}, first ${report.settings.n}); PGD-${a.steps} ${a.norm} ε = ${+a.eps.toFixed(4)}, seed ${report.settings.seed}`);
    console.log(`${'measure'.padEnd(w[0]!)}  ${'value'.padStart(w[1]!)}  ${'unit'.padEnd(w[2]!)}  ${'s'.padStart(w[3]!)}`);
    for (const r of rows) console.log(`${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]!.padStart(w[3]!)}${r[4] ? `  ${r[4]}` : ''}`);
    console.log(`total ${report.seconds.toFixed(1)} s`);
  } finally {
    model.dispose();
    if (initial) for (const t of initial.values()) t.dispose();
    train.dispose();
    test.dispose();
  }
}

function formatValue(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(4) : v.toFixed(4);
}
