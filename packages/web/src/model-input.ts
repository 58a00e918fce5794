// The playground's model and image, built the way the rest of robusta builds them: a zoo model with
// the normalisation of the data it was trained on (CIFAR statistics inside CIFAR models, ImageNet's
// inside ImageNet ResNets, none for MNIST, as `robusta train` and `robusta attack` do), and an image
// that is a dataset's test example or an upload resized (shorter side) and center-cropped to the
// model's input size as `robusta attack` does, with its channels converted to the model's (ITU-R 601
// luma for grey models, as torchvision's Grayscale; a grey image repeated to RGB).
import * as torch from '@robusta/torch';
import { tidy, type Tensor } from '@robusta/torch';
import { data, io, models, train } from 'robusta';

export const TRAINED_ON = ['mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'imagenet'] as const;
export type TrainedOn = (typeof TRAINED_ON)[number];

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The data a zoo model is usually trained on (the playground's default for 'trained on'). */
export function defaultTrainedOn(model: string): TrainedOn {
  const info = models.modelInfo(model);
  if (info.numClasses === 1000) return 'imagenet';
  return info.inputShape[0] === 1 ? 'mnist' : 'cifar10';
}

export function classNames(trainedOn: TrainedOn, numClasses: number): string[] {
  const names = trainedOn === 'imagenet' ? data.imagenetClasses()
    : trainedOn === 'mnist' ? data.MNIST_CLASSES
      : trainedOn === 'fashion-mnist' ? data.FASHION_MNIST_CLASSES
        : trainedOn === 'cifar10' ? CIFAR10_NAMES : [];
  return Array.from({ length: numClasses }, (_, i) => names[i] ?? String(i));
}

export type Net = ReturnType<typeof models.createModel>;

/** A zoo model for data of this kind, with the given checkpoint's weights or seeded random ones; eval mode. */
export function buildModel(name: string, trainedOn: TrainedOn, checkpoint: string | null, seed: number): { info: models.ModelInfo; net: Net } {
  const numClasses = trainedOn === 'imagenet' ? 1000 : trainedOn === 'cifar100' ? 100 : 10;
  let net: Net;
  if (trainedOn === 'imagenet') {
    torch.manualSeed(seed);
    net = models.createModel(name, { normalize: 'imagenet' });
  } else {
    // A training job's model: the same seed gives the same initial weights as `robusta train --seed`.
    net = train.createJobModel({ model: name, dataset: trainedOn, seed }, numClasses);
  }
  if (checkpoint) loadWeights(net, checkpoint);
  net.eval();
  return { info: models.modelInfo(name, { numClasses }), net };
}

function loadWeights(net: Net, path: string): void {
  const state = io.loadStateDict(path);
  try {
    net.loadStateDict(state, { strict: true });
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

/** uint8 [C, H, W] → float [1, channels, size, size] in [0, 1]. */
export function prepareImage(raw: Tensor, channels: number, size: number): Tensor {
  return tidy(() => {
    let x = raw;
    if (x.shape[1] !== size || x.shape[2] !== size) x = data.centerCrop(data.resize(x, size), size);
    let f = data.toTensor(x);
    if (channels === 1 && f.shape[0] === 3) {
      // torchvision's rgb_to_grayscale weights.
      f = f.select(0, 0).mul(0.299).add(f.select(0, 1).mul(0.587)).add(f.select(0, 2).mul(0.114)).unsqueeze(0);
    } else if (channels === 3 && f.shape[0] === 1) {
      f = f.expand([3, size, size]).contiguous();
    } else if (f.shape[0] !== channels) {
      throw new RangeError(`the model takes ${channels}-channel images, the image has ${f.shape[0]}`);
    }
    return f.unsqueeze(0).contiguous();
  });
}
