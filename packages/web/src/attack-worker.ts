// The child process that runs one playground attack (forked by attack-jobs.ts). libtorch's native
// addon refuses worker threads, and an attack holds the CPU for seconds to minutes: in a process of
// its own it can neither stall the server's event loop nor outlive a cancel (the server kills it).
// It receives one AttackRequest, reports the clean prediction, the loss at every model call and the
// result, then exits.
import { noGrad, setNumThreads, tensor, tidy, type Tensor } from '@robusta/torch';
import { data } from 'robusta';
import { attackEntry } from './attack-catalog.js';
import type { AttackRequest, ImageSource, TopClass, WorkerMessage } from './attack-protocol.js';
import { LossRecordingClassifier } from './loss-recorder.js';
import { buildModel, classNames, prepareImage } from './model-input.js';

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, undefined, () => resolve());
  });
}

function topK(logits: Tensor, classes: readonly string[], k = 5): TopClass[] {
  return tidy(() => {
    const { values, indices } = logits.softmax(1).select(0, 0).topk(Math.min(k, logits.shape[1]!));
    const p = values.toFlatArray();
    return indices.toFlatArray().map((c, i) => ({ index: c, name: classes[c] ?? String(c), probability: p[i]! }));
  });
}

const png = (t: Tensor): string => data.encodePng(data.tensorToImage(t)).toString('base64');

/** The image as uint8 [C, H, W] and its true label when it has one. */
function loadRaw(source: ImageSource): { raw: Tensor; label: number | null } {
  if (source.kind === 'upload') return { raw: data.readImageTensor(source.path), label: null };
  const ds = source.dataset === 'mnist' ? data.loadMnist('test') : data.loadFashionMnist('test');
  try {
    if (!(Number.isInteger(source.index) && source.index >= 0 && source.index < ds.length)) {
      throw new RangeError(`${ds.name} has images 0 to ${ds.length - 1}, not ${source.index}`);
    }
    return { raw: ds.images.select(0, source.index).clone(), label: Number(tidy(() => ds.labels.select(0, source.index).item())) };
  } finally {
    ds.dispose();
  }
}

export async function runAttackRequest(req: AttackRequest): Promise<void> {
  setNumThreads(req.threads);
  const entry = attackEntry(req.attack);
  if (!entry) throw new RangeError(`unknown attack '${req.attack}'`);
  await send({ type: 'status', text: 'loading the model and the image' });
  const { info, net } = buildModel(req.model, req.trainedOn, req.checkpoint, req.seed);
  const classes = classNames(req.trainedOn, info.numClasses);
  const { raw, label: trueLabel } = loadRaw(req.image);
  const image = prepareImage(raw, info.inputShape[0], info.inputShape[1]);
  raw.dispose();

  const cleanLogits = noGrad(() => net.forward(image));
  const before = topK(cleanLogits, classes);
  // A dataset image is attacked away from its true class; an upload away from the model's own
  // prediction (as `robusta attack` does: the pig is "hog" because the model says so).
  const label = trueLabel ?? before[0]!.index;
  if (req.target !== null && !(req.target >= 0 && req.target < info.numClasses)) {
    throw new RangeError(`the target class must lie in [0, ${info.numClasses - 1}]`);
  }
  await send({
    type: 'clean', label, labelSource: trueLabel === null ? 'prediction' : 'dataset', classes, shape: image.shape,
    top5: before, original: png(image.select(0, 0)), attack: entry.title,
  });

  const pending: Promise<void>[] = [];
  const recorder = new LossRecordingClassifier(net, label, req.mode === 'targeted' ? req.target : null,
    (points) => pending.push(send({ type: 'loss', points })));
  const attack = entry.create(recorder, req.params, req.mode, req.seed);
  const labels = tensor([label], { dtype: 'int64' });
  const targets = req.mode === 'targeted' ? tensor([req.target!], { dtype: 'int64' }) : undefined;
  // The curve starts at the clean point; the attack reuses these logits instead of a pass of its own.
  recorder.recordQuery(cleanLogits);
  const t0 = performance.now();
  const result = attack.run(image, labels, targets, { cleanLogits });
  const seconds = (performance.now() - t0) / 1000;
  cleanLogits.dispose();
  recorder.flush();
  await Promise.all(pending);

  const out = tidy(() => {
    const after = topK(noGrad(() => net.forward(result.adv)), classes);
    const delta = result.adv.sub(image).select(0, 0);
    const linf = delta.abs().max().item();
    const l2 = delta.pow(2).sum().sqrt().item();
    // δ mapped to [0, 1] with grey for 0, scaled so that its largest entry reaches black or white.
    const scale = linf > 0 ? 0.5 / linf : 1;
    return {
      after, linf, l2, scale, perturbation: png(delta.mul(scale).add(0.5).clamp(0, 1)), adversarial: png(result.adv.select(0, 0)),
      cleanPred: Number(result.cleanPred.item()), advPred: Number(result.advPred.item()), success: result.success.item() === 1,
      target: result.targets ? Number(result.targets.item()) : null,
    };
  });
  await send({
    type: 'done', top5: out.after, cleanPred: out.cleanPred, advPred: out.advPred, success: out.success, target: out.target,
    linf: out.linf, l2: out.l2, perturbationScale: out.scale, seconds, perturbation: out.perturbation, adversarial: out.adversarial,
  });
}

// Entry point: one request per process.
if (process.send) {
  // The server going away (closed IPC channel) ends the attack too.
  process.on('disconnect', () => process.exit(0));
  process.once('message', (request: AttackRequest) => {
    runAttackRequest(request)
      .catch(async (e: unknown) => {
        const err = e as Error;
        await send({ type: 'error', message: `${err.name ?? 'Error'}: ${err.message ?? String(e)}` });
      })
      .finally(() => process.disconnect());
  });
}
