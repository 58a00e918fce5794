// robusta train: adversarial training of a zoo model with a defense, resumable (re-run the same
// command after an interruption and it continues from the last complete epoch).
import { models, train } from 'robusta';
import { parse, parseInteger, parseNumber, UsageError } from '../args.js';
import { checkDataset, DEFENSES, SCHEDULES } from '../setup.js';

export const usage = `robusta train --model mnist-cnn --dataset mnist --defense at --epochs 10 --out runs/x [options]
  --model NAME         a zoo model (mnist-cnn, mnist-mlp, cifar-cnn, preact-resnet18, resnet18, wrn-28-10, ...)
  --dataset NAME       mnist (default, ships with robusta), fashion-mnist, cifar10, cifar100 (downloaded once)
  --defense NAME       ${DEFENSES.join(', ')} (default standard); --awp GAMMA adds AWP (e.g. 5e-3) to at/trades/mart
  --eps X --alpha X --steps N   the inner attack (defaults: MNIST 0.3, 0.01, 40; CIFAR 8/255, 2/255, 10)
  --beta X             TRADES/MART weight of the robust term (default 6)
  --epochs N           (default 10)   --batch-size N (default 128)   --n-train N (first N training examples)
  --lr X --momentum X --wd X    SGD (defaults: MNIST 0.01, 0.9, 0; CIFAR 0.1, 0.9, 5e-4)
  --schedule NAME      ${SCHEDULES.join(', ')} (default none)
  --augment            random crop (padding 4) and horizontal flip (CIFAR)
  --eval-n N           test examples for the per-epoch clean/PGD accuracy (default 1000)
  --seed N             (default 0)
  --out DIR            metrics.jsonl, last.pt, best.pt (default runs/<model>-<defense>)
  --json               print the summary as JSON`;

/** Trains (or resumes) a job: robusta's runTrainJob, with unknown names reported as usage errors. */
export async function trainJob(job: train.TrainJob): Promise<train.TrainJobResult> {
  if (!(DEFENSES as readonly string[]).includes(job.defense)) throw new UsageError(`unknown defense '${job.defense}' (${DEFENSES.join(', ')})`);
  if (!(SCHEDULES as readonly string[]).includes(job.schedule ?? 'none')) throw new UsageError(`unknown schedule '${job.schedule}' (${SCHEDULES.join(', ')})`);
  if (!models.isModelName(job.model)) throw new UsageError(`unknown model '${job.model}' (known: ${models.MODEL_NAMES.join(', ')})`);
  return train.runTrainJob(job);
}

export async function runTrain(argv: string[]): Promise<void> {
  const o = parse(argv, {
    model: { type: 'string', default: 'mnist-cnn' }, dataset: { type: 'string', default: 'mnist' },
    defense: { type: 'string', default: 'standard' }, awp: { type: 'string' }, eps: { type: 'string' }, alpha: { type: 'string' },
    steps: { type: 'string' }, beta: { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
    'n-train': { type: 'string' }, lr: { type: 'string' }, momentum: { type: 'string' }, wd: { type: 'string' },
    schedule: { type: 'string', default: 'none' }, augment: { type: 'boolean' }, 'eval-n': { type: 'string' },
    seed: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
  });
  const str = (k: string) => o[k] as string | undefined;
  const opt = (k: string, f: (name: string, t: string) => number) => (str(k) === undefined ? undefined : f(k, str(k)!));
  const job: train.TrainJob = {
    model: str('model')!, dataset: checkDataset(str('dataset')!), defense: str('defense')!,
    epochs: parseInteger('epochs', str('epochs'), 10, 1), out: str('out') ?? `runs/${str('model')}-${str('defense')}`,
    batchSize: opt('batch-size', (n, t) => parseInteger(n, t, undefined, 1)), nTrain: opt('n-train', (n, t) => parseInteger(n, t, undefined, 1)),
    eps: opt('eps', parseNumber), alpha: opt('alpha', parseNumber), steps: opt('steps', (n, t) => parseInteger(n, t, undefined, 1)),
    beta: opt('beta', parseNumber), awp: opt('awp', parseNumber), lr: opt('lr', parseNumber), momentum: opt('momentum', parseNumber),
    weightDecay: opt('wd', parseNumber), schedule: str('schedule'), augment: !!o.augment,
    evalN: opt('eval-n', (n, t) => parseInteger(n, t, undefined, 1)), seed: opt('seed', (n, t) => parseInteger(n, t)),
  };
  const { summary, net } = await trainJob(job);
  net.dispose();
  if (o.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const last = summary.history[summary.history.length - 1];
  console.log(`${job.model} / ${job.dataset} / ${job.defense}: ${summary.history.length} epochs (${summary.resumedFrom} resumed, ${summary.epochsRun} run)`);
  if (last) console.log(`last epoch: ${JSON.stringify(last)}`);
  console.log(`checkpoints: ${summary.lastCheckpoint}${summary.bestCheckpoint ? `, ${summary.bestCheckpoint}` : ''}`);
}
