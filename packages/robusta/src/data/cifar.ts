// CIFAR-10 and CIFAR-100 (Krizhevsky, 2009), "binary version" from https://www.cs.toronto.edu/~kriz/cifar.html:
//   CIFAR-10:  cifar-10-batches-bin/data_batch_{1..5}.bin, test_batch.bin — records of
//              1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue; rows of 32, row-major),
//              class names in batches.meta.txt.
//   CIFAR-100: cifar-100-binary/train.bin, test.bin — records of coarse label byte + fine label byte + 3072,
//              names in fine_label_names.txt / coarse_label_names.txt.
// The pixel layout is already CHW, so a file becomes a [N, record] uint8 tensor and the images and
// labels are column slices of it: no per-pixel JS.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { cat, tensor, type Tensor } from '@robusta/torch';
import { dataDir } from './cache.js';
import { ImageTensorDataset } from './dataset.js';
import { downloadFile, verifyFile } from './download.js';
import { DataFormatError } from './errors.js';
import type { Split } from './mnist.js';
import { readTar } from './tar.js';

const PIXELS = 3 * 32 * 32;
export const DEFAULT_CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/';

interface ArchiveSpec {
  archive: string;
  md5: string;
  folder: string;
  /** Files that must exist once extracted. */
  required: string[];
}

export const CIFAR10_ARCHIVE: Readonly<ArchiveSpec> = Object.freeze({
  archive: 'cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  folder: 'cifar-10-batches-bin',
  required: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin',
    'test_batch.bin', 'batches.meta.txt'],
});
export const CIFAR100_ARCHIVE: Readonly<ArchiveSpec> = Object.freeze({
  archive: 'cifar-100-binary.tar.gz',
  md5: '03b5dce01913d631647c71ecec9e9cb8',
  folder: 'cifar-100-binary',
  required: ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt'],
});

const COMPLETE_MARK = '.robusta-complete';

export interface CifarOptions {
  /** Cache root (default $ROBUSTA_DATA or ~/.cache/robusta). */
  root?: string;
  /** Fetch the archive when it is missing (default true); false gives an error naming the missing files. */
  download?: boolean;
  /** Where the archives are served (default $ROBUSTA_CIFAR_URL or the official site). */
  baseUrl?: string;
  /** Overrides the published MD5 (for mirrors serving a re-packed archive, and tests). */
  md5?: string;
  onProgress?: (received: number, total: number | null) => void;
}

/** Parses records of `labelBytes` label bytes + 3072 pixel bytes: images uint8 [N, 3, 32, 32], labels int64 [N, labelBytes]. */
export function parseCifarRecords(bytes: Uint8Array, labelBytes: 1 | 2, source = 'CIFAR data'): { images: Tensor; labels: Tensor } {
  const record = labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new DataFormatError(
      `${source}: ${bytes.length} bytes is not a whole number of ${record}-byte records (truncated or not the binary version)`);
  }
  const n = bytes.length / record;
  const all = tensor(bytes, { shape: [n, record] });
  try {
    const images = all.narrow(1, labelBytes, PIXELS).reshape([n, 3, 32, 32]);
    const rawLabels = all.narrow(1, 0, labelBytes);
    const labels = rawLabels.to({ dtype: 'int64' });
    rawLabels.dispose();
    return { images, labels };
  } finally {
    all.dispose();
  }
}

function readNames(path: string): string[] {
  if (!existsSync(path)) throw new DataFormatError(`missing ${path}`);
  return readFileSync(path, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
}

function readRecordFiles(paths: string[], labelBytes: 1 | 2): { images: Tensor; labels: Tensor } {
  const parts = paths.map((p) => {
    if (!existsSync(p)) throw new DataFormatError(`missing ${p}`);
    return parseCifarRecords(readFileSync(p), labelBytes, p);
  });
  if (parts.length === 1) return parts[0]!;
  const images = cat(parts.map((p) => p.images), 0);
  const labels = cat(parts.map((p) => p.labels), 0);
  for (const p of parts) { p.images.dispose(); p.labels.dispose(); }
  return { images, labels };
}

function checkLabels(labels: Tensor, classes: number, source: string): void {
  const max = labels.max();
  const min = labels.min();
  const bad = max.item() >= classes || min.item() < 0;
  max.dispose();
  min.dispose();
  if (bad) throw new DataFormatError(`${source}: labels outside 0..${classes - 1}`);
}

/** Reads CIFAR-10 from an extracted `cifar-10-batches-bin` folder. */
export function readCifar10(dir: string, split: Split = 'train'): ImageTensorDataset {
  const files = split === 'train'
    ? [1, 2, 3, 4, 5].map((i) => join(dir, `data_batch_${i}.bin`))
    : split === 'test' ? [join(dir, 'test_batch.bin')] : null;
  if (files === null) throw new TypeError(`CIFAR-10 split must be 'train' or 'test', not '${String(split)}'`);
  const classes = readNames(join(dir, 'batches.meta.txt'));
  if (classes.length !== 10) throw new DataFormatError(`${join(dir, 'batches.meta.txt')}: ${classes.length} class names, expected 10`);
  const { images, labels: labels2d } = readRecordFiles(files, 1);
  const labels = labels2d.reshape([-1]);
  labels2d.dispose();
  try {
    checkLabels(labels, 10, dir);
  } catch (err) {
    images.dispose();
    labels.dispose();
    throw err;
  }
  return new ImageTensorDataset({ images, labels, classes, name: `CIFAR10-${split}` });
}

export interface Cifar100ReadOptions {
  /** Which labels become `labels` / y: the 100 fine classes (default) or the 20 superclasses. */
  labelType?: 'fine' | 'coarse';
}

/** Reads CIFAR-100 from an extracted `cifar-100-binary` folder. */
export function readCifar100(dir: string, split: Split = 'train', options: Cifar100ReadOptions = {}): ImageTensorDataset {
  if (split !== 'train' && split !== 'test') throw new TypeError(`CIFAR-100 split must be 'train' or 'test', not '${String(split)}'`);
  const coarse = options.labelType === 'coarse';
  const classes = readNames(join(dir, coarse ? 'coarse_label_names.txt' : 'fine_label_names.txt'));
  const expected = coarse ? 20 : 100;
  if (classes.length !== expected) throw new DataFormatError(`${dir}: ${classes.length} class names, expected ${expected}`);
  const { images, labels: both } = readRecordFiles([join(dir, `${split}.bin`)], 2);
  const labels = both.select(1, coarse ? 0 : 1).contiguous();
  both.dispose();
  try {
    checkLabels(labels, expected, dir);
  } catch (err) {
    images.dispose();
    labels.dispose();
    throw err;
  }
  return new ImageTensorDataset({ images, labels, classes, name: `CIFAR100-${split}${coarse ? '-coarse' : ''}` });
}

/** Unpacks a .tar.gz into dir (entries that would land outside dir are refused). */
export async function extractTarGz(archivePath: string, dir: string): Promise<string[]> {
  let tar: Uint8Array;
  try {
    tar = await promisify(gunzip)(readFileSync(archivePath));
  } catch (err) {
    throw new DataFormatError(`${archivePath}: not a valid gzip file (${(err as Error).message})`);
  }
  const written: string[] = [];
  const root = normalize(dir + sep);
  for (const entry of readTar(tar)) {
    if (entry.name === '') continue; // the archive's own root ('./')
    const target = normalize(join(dir, entry.name));
    if (isAbsolute(entry.name) || !target.startsWith(root)) {
      throw new DataFormatError(`${archivePath}: refusing entry '${entry.name}' outside the target folder`);
    }
    if (entry.type === 'directory') {
      mkdirSync(target, { recursive: true });
    } else if (entry.type === 'file') {
      mkdirSync(dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, entry.data);
      renameSync(tmp, target);
      written.push(entry.name);
    }
  }
  return written;
}

function baseUrlOf(o: CifarOptions): string {
  const u = o.baseUrl ?? process.env.ROBUSTA_CIFAR_URL ?? DEFAULT_CIFAR_URL;
  return u.endsWith('/') ? u : `${u}/`;
}

/**
 * Makes sure an archive's extracted folder is in the cache: nothing to do when it is complete;
 * else downloads (resumably, MD5-verified) and extracts. Returns the folder.
 */
async function prepare(spec: ArchiveSpec, o: CifarOptions): Promise<string> {
  const root = dataDir(o.root);
  const folder = join(root, spec.folder);
  const complete = (): boolean => existsSync(join(folder, COMPLETE_MARK)) && spec.required.every((f) => existsSync(join(folder, f)));
  if (complete()) return folder;
  const archive = join(root, spec.archive);
  const url = `${baseUrlOf(o)}${spec.archive}`;
  const md5 = o.md5 ?? spec.md5;
  if (o.download === false) {
    if (!existsSync(archive)) {
      throw new DataFormatError(
        `${spec.folder} is not in ${root} and download is off: place ${spec.archive} there, or allow the download`);
    }
    await verifyFile(archive, md5, archive);
  } else {
    await downloadFile(url, archive, { md5, onProgress: o.onProgress });
  }
  rmSync(join(folder, COMPLETE_MARK), { force: true });
  await extractTarGz(archive, root);
  const missing = spec.required.filter((f) => !existsSync(join(folder, f)));
  if (missing.length > 0) {
    throw new DataFormatError(`${archive} did not contain ${missing.map((f) => `${spec.folder}/${f}`).join(', ')}`);
  }
  writeFileSync(join(folder, COMPLETE_MARK), `${spec.archive} ${md5}\n`);
  return folder;
}

/** Downloads and extracts CIFAR-10 into the cache if needed; returns the `cifar-10-batches-bin` folder. */
export function prepareCifar10(options: CifarOptions = {}): Promise<string> {
  return prepare(CIFAR10_ARCHIVE, options);
}
/** Downloads and extracts CIFAR-100 into the cache if needed; returns the `cifar-100-binary` folder. */
export function prepareCifar100(options: CifarOptions = {}): Promise<string> {
  return prepare(CIFAR100_ARCHIVE, options);
}

/** CIFAR-10 (50,000 train / 10,000 test): uint8 images [N, 3, 32, 32], int64 labels, class names from the archive. */
export async function loadCifar10(split: Split = 'train', options: CifarOptions = {}): Promise<ImageTensorDataset> {
  return readCifar10(await prepareCifar10(options), split);
}

/** CIFAR-100 (50,000 train / 10,000 test), fine labels by default. */
export async function loadCifar100(split: Split = 'train', options: CifarOptions & Cifar100ReadOptions = {}): Promise<ImageTensorDataset> {
  return readCifar100(await prepareCifar100(options), split, options);
}
