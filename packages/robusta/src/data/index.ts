// robusta/data: datasets (MNIST, Fashion-MNIST, CIFAR-10/100, image folders), image files,
// torchvision-like transforms, and the DataLoader.
export { DataFormatError, DownloadError, ChecksumError } from './errors.js';
export { Rng } from './random.js';
export { dataDir } from './cache.js';
export { parseIdx, readIdx, encodeIdx, type IdxArray, type IdxData, type IdxDtype } from './idx.js';
export {
  type Batch, type Dataset, type ClassificationDataset, type WorkerDecodable, type WorkerTaskResult,
  type ImageTensorDatasetInit, TensorDataset, ImageTensorDataset, Subset, subset, isWorkerDecodable, indexTensor,
} from './dataset.js';
export { loadMnist, mnistDataDir, readIdxImageFiles, MNIST_CLASSES, type MnistOptions, type Split, type IdxImageFiles } from './mnist.js';
export { loadFashionMnist, convertFashionMnist, parseFashionClassJson, FASHION_MNIST_CLASSES, type FashionMnistOptions } from './fashion-mnist.js';
export {
  loadCifar10, loadCifar100, readCifar10, readCifar100, prepareCifar10, prepareCifar100, parseCifarRecords, extractTarGz,
  CIFAR10_ARCHIVE, CIFAR100_ARCHIVE, DEFAULT_CIFAR_URL, type CifarOptions, type Cifar100ReadOptions,
} from './cifar.js';
export { downloadFile, verifyFile, md5File, type DownloadOptions } from './download.js';
export { readTar, type TarEntry } from './tar.js';
export {
  decodeImage, readImage, encodePng, encodeJpeg, writeImage, sniffImageFormat, ImageDecodeError, type RgbImage, type ImageFormat,
} from './image.js';
export { imageToTensor, tensorToImage, readImageTensor, saveImage } from './image-tensor.js';
export {
  resize, resizedSize, centerCrop, toTensor, normalize, denormalize, compose, randomCrop, randomCropOffsets, cropAt,
  randomHorizontalFlip, randomFlipMask, flipWhere,
  IMAGENET_MEAN, IMAGENET_STD, CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, MNIST_MEAN, MNIST_STD,
  type ResizeOptions, type RandomOptions, type CropOffsets,
} from './transforms.js';
export { ImageFolder, type ImageFolderOptions, type ImageSample } from './image-folder.js';
export { DataLoader, Epoch, type DataLoaderOptions, type BatchTransform, type BatchContext, type EpochOptions } from './loader.js';
export { cropFlipAugmentation, normalizeTransform, type CropFlipOptions } from './augment.js';
export { WorkerPool, WorkerTaskError } from './worker-pool.js';
export { imagenetClasses, classIndex } from './imagenet-classes.js';
