// robusta attack: the source document's demo. An image, a zoo model with a PyTorch checkpoint,
// an untargeted or targeted attack; top-5 before and after, and PNGs of the original, the amplified
// perturbation and the adversarial image.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, tensor, tidy, type Tensor } from '@robusta/torch';
import { attacks, data, models } from 'robusta';
import { classIndex, imagenetClasses } from 'robusta/data/imagenet-classes';
import { InputError, parse, parseInteger, parseNumber, required, UsageError } from '../args.js';
import { buildAttack, parseSpecs } from '../attack-specs.js';
import { loadWeights } from '../setup.js';

export const usage = `robusta attack --model resnet50 --weights resnet50.pth --image pig.jpg [options]
  --model NAME        a zoo model (default resnet50); ImageNet models get ImageNet normalisation inside
  --weights FILE      its weights: a torch.save checkpoint (.pt/.pth, zip or legacy) or .safetensors
  --random-weights    use freshly initialised weights instead (for trying the command)
  --image FILE        a JPEG or PNG; resized (shorter side) and center-cropped to --size (default 224)
  --method ATTACK     tutorial (SGD on δ, the source's recipe; default) or any attack of 'robusta attacks',
                      with parameters: --method pgd, --method "mifgsm(decay=0.5)", --method "cw(c=1,steps=100)"
  --eps X             L∞ budget, e.g. 2/255 (default); L∞ attacks take it (their α scales with it)
  --steps N           iterations, for attacks that have them (default: the attack's; tutorial: 30)
  --alpha X, --lr X   step size and learning rate, likewise (α scales with --eps unless given)
  --random-start      start attacks that have one (pgd, ...) at a random point (default: at the image)
  --target CLASS      targeted attack towards a class index or name (e.g. 404 or airliner)
  --targeted          targeted attack towards a random class other than the prediction
  --seed N            seeds the attack's random draws (default 0)
  --out DIR           where original.png, perturbation.png and adversarial.png go (default attack-out)
  --json              print one JSON object instead of tables`;

interface TopK {
  index: number;
  name: string;
  probability: number;
}

function top5(logits: Tensor, classes: readonly string[]): TopK[] {
  return tidy(() => {
    const { values, indices } = logits.softmax(1).select(0, 0).topk(5);
    const p = values.toFlatArray();
    return indices.toFlatArray().map((k, i) => ({ index: k, name: classes[k] ?? String(k), probability: p[i]! }));
  });
}

export function runAttack(argv: string[]): void {
  const o = parse(argv, {
    model: { type: 'string', default: 'resnet50' }, weights: { type: 'string' }, 'random-weights': { type: 'boolean' },
    image: { type: 'string' }, size: { type: 'string' }, method: { type: 'string', default: 'tutorial' }, targeted: { type: 'boolean' },
    'random-start': { type: 'boolean' },
    eps: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' }, alpha: { type: 'string' },
    target: { type: 'string' }, out: { type: 'string', default: 'attack-out' }, json: { type: 'boolean' }, seed: { type: 'string' },
  });
  const specs = parseSpecs(o.method as string, '--method');
  if (specs.length !== 1) throw new UsageError('--method takes one attack (robusta eval --attacks takes several)');
  const modelName = o.model as string;
  const info = models.modelInfo(modelName);
  const imagenet = info.numClasses === 1000;
  const classes = imagenet ? imagenetClasses() : Array.from({ length: info.numClasses }, (_, i) => String(i));
  const model = models.createModel(modelName, { normalize: imagenet ? 'imagenet' : undefined });
  if (o.weights) {
    if (!existsSync(o.weights as string)) throw new InputError(`--weights ${o.weights}: no such file`);
    loadWeights(model, o.weights as string);
  } else if (!o['random-weights']) {
    throw new UsageError('--weights FILE is required (or --random-weights to try the command without trained weights)');
  }
  model.eval();

  const size = parseInteger('size', o.size as string | undefined, info.inputShape[1], 1);
  const imagePath = required('image', o.image);
  if (!existsSync(imagePath)) throw new InputError(`--image ${imagePath}: no such file`);
  const outDir = o.out as string;
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new InputError(`--out ${outDir}: exists and is not a directory`);
  const image = tidy(() => {
    const raw = data.readImageTensor(imagePath); // uint8 [3, H, W]
    return data.toTensor(data.centerCrop(data.resize(raw, size), size)).unsqueeze(0);
  });
  if (image.shape[1] !== info.inputShape[0]) throw new UsageError(`${modelName} takes ${info.inputShape[0]}-channel images`);

  const eps = parseNumber('eps', o.eps as string | undefined, 2 / 255, { min: 0 });
  const steps = o.steps === undefined ? undefined : parseInteger('steps', o.steps as string, undefined, 1);
  const seed = o.seed === undefined ? 0 : parseInteger('seed', o.seed as string);
  const target = o.target === undefined ? null : classIndex(o.target as string, classes);
  const targeted = target !== null || Boolean(o.targeted);
  const mode = target !== null ? 'targeted' : targeted ? 'random' : 'untargeted';
  const attack = buildAttack(model, specs[0]!, {
    norm: 'Linf', eps, mode, seed,
    defaults: {
      steps,
      // The demo is deterministic unless asked: attacks with a random start begin at the image.
      randomStart: Boolean(o['random-start']),
      alpha: o.alpha === undefined ? undefined : parseNumber('alpha', o.alpha as string, undefined, { min: 0 }),
      lr: o.lr === undefined ? undefined : parseNumber('lr', o.lr as string, undefined, { min: 0 }),
    },
  });

  const before = top5(noGrad(() => model.forward(image)), classes);
  // The label to move away from is the model's own prediction, as in the demo (hog for the pig).
  const label = tensor([before[0]!.index], { dtype: 'int64' });
  const targets = target === null ? undefined : tensor([target], { dtype: 'int64' });
  const t0 = Date.now();
  const result = attack.run(image, label, targets);
  // With --targeted the attack drew the target itself: report the one it aimed at.
  const aimed = result.targets ? result.targets.item() : null;
  const seconds = (Date.now() - t0) / 1000;
  const after = top5(noGrad(() => model.forward(result.adv)), classes);
  const linf = tidy(() => result.adv.sub(image).abs().max().item());

  mkdirSync(outDir, { recursive: true });
  tidy(() => {
    data.saveImage(join(outDir, 'original.png'), image.select(0, 0));
    data.saveImage(join(outDir, 'adversarial.png'), result.adv.select(0, 0));
    // δ ∈ [−ε, ε] mapped to [0, 1] so that it can be seen: grey is 0.
    const delta = result.adv.sub(image).select(0, 0);
    data.saveImage(join(outDir, 'perturbation.png'), delta.div(2 * Math.max(eps, 1e-12)).add(0.5).clamp(0, 1));
  });

  const report = {
    model: modelName, method: attack.name, eps, steps: (attack as unknown as { steps?: number }).steps ?? null, target: aimed === null ? null : { index: aimed, name: classes[aimed] },
    before, after, success: result.success.item() === 1, linf, seconds,
    files: ['original.png', 'perturbation.png', 'adversarial.png'].map((f) => join(outDir, f)),
  };
  if (o.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const table = (rows: TopK[]) => rows.map((r) => `  ${String(r.index).padStart(4)}  ${r.name.padEnd(28)} ${(r.probability * 100).toFixed(2).padStart(6)} %`).join('\n');
  console.log(`${modelName}, ${attack.name} ${mode} attack, ε = ${eps.toFixed(5)}${report.steps === null ? '' : `, ${report.steps} steps`}${aimed === null ? '' : `, target ${aimed} (${classes[aimed]})`}`);
  console.log(`before:\n${table(before)}`);
  console.log(`after (${seconds.toFixed(1)} s, ‖δ‖∞ = ${linf.toFixed(5)}, ${report.success ? 'success' : 'failed'}):\n${table(after)}`);
  console.log(`wrote ${report.files.join(', ')}`);
}
