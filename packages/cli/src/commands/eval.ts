// robusta eval: the accuracy of a checkpoint on the first n test examples under attacks — the
// RobustBench trio (fgsm, pgd, autoattack) or any attack of the library with parameters — with a
// worst-case row, as a table or as JSON in the RobustBench layout. Resumable with --resume FILE;
// --save-adv FILE keeps the adversarial examples (safetensors, as torchattacks' save()).
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { attacks, data, evaluation, models, torch } from 'robusta';
import { parse, parseInteger, parseNumber, required, UsageError } from '../args.js';
import { buildAttack, mentions, parseSpecs, recordRuns, type Recorded, saveAdversarial, targetMode } from '../attack-specs.js';
import { checkDataset, loadSplit, loadWeights, normalizationOf } from '../setup.js';

export const usage = `robusta eval --model mnist-cnn --weights runs/x/best.pt --dataset mnist [options]
  --model NAME       the zoo model the weights belong to
  --weights FILE     torch.save checkpoint (a state_dict, or robusta's training checkpoint) or .safetensors
  --random-weights   freshly initialised weights instead (for trying the command)
  --dataset NAME     mnist (default), fashion-mnist, cifar10, cifar100
  --split NAME       test (default) or train
  --n N              the first N examples (default 1000)
  --eps X            budget (default: 0.3 for MNIST, 8/255 for CIFAR); --norm Linf (default) or L2
  --attacks LIST     attacks, comma-separated, each with parameters if wanted (default fgsm,pgd,autoattack):
                       --attacks "pgd(steps=40,alpha=0.01),cw(c=1,steps=100),square(n_queries=5000)"
                     any attack of 'robusta attacks', torchattacks' names and parameter names; attacks
                     of the --norm threat model take --eps, and then their default step size scales with it.
                     fgsm, pgd and autoattack without parentheses are the RobustBench-style settings
                     (PGD: --steps iterations, α = 2.5·ε/steps, random start; L2 variants under --norm L2)
  --steps N          iterations of the plain 'pgd' (default 10)   --batch-size N (default 100)
  --targeted         targeted attacks towards a random class ≠ label    --target CLASS: towards CLASS (index or name)
  --seed N           seeds the attacks' random draws (default 0)
  --save-adv FILE    write the adversarial examples, labels and predictions (safetensors; see robusta help eval)
  --resume FILE      record finished batches in FILE and skip them when re-run (not with --save-adv)
  --json             print the report as one JSON object (RobustBench fields under "robustbench")

  --save-adv keys (torchattacks' save()): adv_inputs, labels, preds, clean_preds; with several attacks
  adv_inputs/preds are the worst case (the first attack that fooled each example) and each attack's own
  are adv_inputs.NAME and preds.NAME.`;

/** The plain names evaluated with the RobustBench-style settings of evaluation.benchmarkRobustness. */
const STANDARD = ['fgsm', 'pgd', 'autoattack'];

export async function runEval(argv: string[]): Promise<void> {
  const o = parse(argv, {
    model: { type: 'string', default: 'mnist-cnn' }, weights: { type: 'string' }, 'random-weights': { type: 'boolean' },
    dataset: { type: 'string', default: 'mnist' }, split: { type: 'string', default: 'test' }, n: { type: 'string' },
    eps: { type: 'string' }, norm: { type: 'string', default: 'Linf' }, attacks: { type: 'string', default: 'fgsm,pgd,autoattack' },
    steps: { type: 'string' }, 'batch-size': { type: 'string' }, targeted: { type: 'boolean' }, target: { type: 'string' },
    seed: { type: 'string' }, 'save-adv': { type: 'string' }, resume: { type: 'string' }, json: { type: 'boolean' },
  });
  const dataset = checkDataset(o.dataset as string);
  const split = o.split as string;
  if (split !== 'test' && split !== 'train') throw new UsageError(`--split must be test or train, got '${split}'`);
  const norm = o.norm as string;
  if (norm !== 'Linf' && norm !== 'L2') throw new UsageError(`--norm must be Linf or L2, got '${norm}'`);
  if (!models.isModelName(o.model as string)) throw new UsageError(`unknown model '${o.model}' (known: ${models.MODEL_NAMES.join(', ')})`);
  const weights = o.weights as string | undefined;
  if (!weights && !o['random-weights']) throw new UsageError('--weights FILE is required (or --random-weights to try the command)');
  if (weights && o['random-weights']) throw new UsageError('give --weights or --random-weights, not both');
  if (weights && !existsSync(weights)) throw new UsageError(`--weights: no such file '${weights}'`);
  const mnistLike = dataset === 'mnist' || dataset === 'fashion-mnist';
  const eps = parseNumber('eps', o.eps as string | undefined, norm === 'L2' ? (mnistLike ? 2 : 0.5) : mnistLike ? 0.3 : 8 / 255, { min: 0 });
  const steps = parseInteger('steps', o.steps as string | undefined, 10, 1);
  const seed = parseInteger('seed', o.seed as string | undefined, 0);
  const n = parseInteger('n', o.n as string | undefined, 1000, 1);
  const batchSize = parseInteger('batch-size', o['batch-size'] as string | undefined, 100, 1);
  const specs = parseSpecs(o.attacks as string, '--attacks');
  const saveAdv = o['save-adv'] as string | undefined;
  if (saveAdv !== undefined) checkOutputFile('--save-adv', saveAdv);
  if (saveAdv !== undefined && o.resume !== undefined) throw new UsageError('--save-adv needs every batch attacked: it cannot be combined with --resume');

  const examples = await loadSplit(dataset, split);
  const target = o.target === undefined ? null : classOf(o.target as string, examples.classes);
  const mode = targetMode(Boolean(o.targeted), target);
  const trainSplit = specs.some((s) => mentions(s, 'lgv')) ? await loadSplit(dataset, 'train') : null;
  const makeModel = () => models.createModel(o.model as string, { normalize: normalizationOf(dataset), numClasses: examples.classes.length });
  const model = makeModel();
  const recorded: [string, Recorded][] = [];
  try {
    if (weights) loadWeights(model, weights);
    else console.error('note: --random-weights: the model has freshly initialised weights');
    model.eval();
    const services: attacks.AttackServices = {
      trainLoader: trainSplit ? () => new data.DataLoader(trainSplit, { batchSize: 256, shuffle: true, seed, workers: 0 }) : undefined,
      copyModel: makeModel,
    };
    const context: attacks.AttackContext = { norm, eps, mode, seed, services };
    const list = specs.map((spec) => namedAttack(model, spec, context, { norm, eps, steps, seed, mode }));
    dedupe(list);
    if (saveAdv !== undefined) for (const a of list) recorded.push([a.name, recordRuns(a.attack)]);
    const interactive = process.stderr.isTTY && !o.json;
    const report = evaluation.benchmarkRobustness(model, examples, {
      modelName: o.model as string, dataset, threatModel: norm, eps, n, attacks: list, pgdSteps: steps, batchSize, seed,
      checkpointPath: o.resume as string | undefined,
      onProgress: (p) => {
        const robust = Object.entries(p.robustAccuracy).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join('  ');
        const line = `[${p.batch}/${p.batches}] ${p.examples}/${p.total} clean ${(p.cleanAccuracy * 100).toFixed(1)}%  ${robust}${p.resumed ? ' (resumed)' : ''}`;
        if (interactive) process.stderr.write(`\r${line}`);
        else if (!o.json) process.stderr.write(`${line}\n`);
      },
    });
    if (interactive) process.stderr.write('\n');
    if (saveAdv !== undefined) {
      const { y, cleanPred } = torch.tidy(() => {
        const first = evaluation.firstExamples(examples, n, 'eval');
        const pred = torch.noGrad(() => {
          const parts: torch.Tensor[] = [];
          for (let s = 0; s < first.x.shape[0]!; s += batchSize) parts.push(model.forward(first.x.narrow(0, s, Math.min(batchSize, first.x.shape[0]! - s))).argmax(1));
          return torch.cat(parts, 0);
        });
        first.x.dispose();
        return { y: torch.keep(first.y), cleanPred: torch.keep(pred) };
      });
      saveAdversarial(saveAdv, y, cleanPred, recorded, {
        format: 'robusta-adversarial', model: o.model as string, dataset, split, norm, eps: String(eps), n: String(report.examples),
        targeted: mode === undefined ? 'false' : target === null ? 'random' : String(target),
      });
      y.dispose();
      cleanPred.dispose();
      recorded.length = 0;
    }
    if (o.json) console.log(JSON.stringify(saveAdv === undefined ? report : { ...report, savedAdversarial: saveAdv }));
    else {
      console.log(report.table);
      if (saveAdv !== undefined) console.log(`wrote ${saveAdv}`);
    }
  } finally {
    for (const [, r] of recorded) for (const t of [...r.adv, ...r.pred]) t.dispose();
    model.dispose();
    examples.dispose();
    trainSplit?.dispose();
  }
}

interface Standard {
  norm: 'Linf' | 'L2';
  eps: number;
  steps: number;
  seed: number;
  mode: attacks.AttackMode | undefined;
}

/**
 * An attack under its report name. The plain standard names are built as benchmarkRobustness builds
 * them (so the numbers are the library's): FGSM (L2: one normalised step of length ε), PGD-k (α =
 * 2.5·ε/k, random start, drawing from the evaluation's per-batch seed) and AutoAttack; anything else
 * through the registry, named by its text.
 */
function namedAttack(model: attacks.Classifier, spec: attacks.AttackSpec, context: attacks.AttackContext, s: Standard): evaluation.NamedAttack {
  const plain = spec.args.length === 0 ? attacks.normalizeName(spec.name) : '';
  if (!STANDARD.includes(plain)) return { name: spec.source.replace(/\s+/g, ''), attack: buildAttack(model, spec, context) };
  const mode = s.mode;
  if (plain === 'fgsm') {
    return {
      name: 'FGSM',
      attack: s.norm === 'Linf'
        ? new attacks.FGSM(model, { eps: s.eps, seed: s.seed, mode })
        : new attacks.PGDL2(model, { eps: s.eps, alpha: s.eps, steps: 1, randomStart: false, seed: s.seed, mode }),
    };
  }
  if (plain === 'pgd') {
    const common = { eps: s.eps, alpha: (2.5 * s.eps) / s.steps, steps: s.steps, randomStart: true, mode };
    return { name: `PGD-${s.steps}`, attack: s.norm === 'Linf' ? new attacks.PGD(model, common) : new attacks.PGDL2(model, common) };
  }
  if (mode !== undefined) throw new UsageError('autoattack has no targeted mode (its APGD-T and FAB-T components choose their own targets)');
  return { name: 'AutoAttack', attack: new attacks.AutoAttack(model, { norm: s.norm, eps: s.eps, seed: s.seed }) };
}

/** Report names must differ: a repeated attack text gets #2, #3, ... */
function dedupe(list: evaluation.NamedAttack[]): void {
  const seen = new Map<string, number>();
  for (const a of list) {
    const k = (seen.get(a.name) ?? 0) + 1;
    seen.set(a.name, k);
    if (k > 1) a.name = `${a.name}#${k}`;
  }
}

/** A class given by index or by name (case-insensitive). */
function classOf(text: string, classes: readonly string[]): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const k = Number(t);
    if (k >= classes.length) throw new UsageError(`--target ${t}: the dataset has classes 0 to ${classes.length - 1}`);
    return k;
  }
  const k = classes.findIndex((c) => c.toLowerCase() === t.toLowerCase());
  const listed = classes.map((c, i) => (c === String(i) ? c : `${i} ${c}`)).join(', ');
  if (k < 0) throw new UsageError(`--target '${t}': no such class (${listed})`);
  return k;
}

/** An output file: its folder must exist and it must not be a folder. */
export function checkOutputFile(option: string, path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${option} ${path}: is a directory, give a file name`);
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UsageError(`${option} ${path}: no such directory '${dir}'`);
}
