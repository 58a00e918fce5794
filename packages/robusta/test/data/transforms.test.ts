// Transforms against torchvision + PIL (same images, same pipeline), and properties of the
// seeded batch augmentations.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose, manualSeed, tensorsNotDisposed, tensor, tidy, type Tensor } from '@robusta/torch';
import { pyTorchSkip, maxAbsDiff, runPython, type PyTensor } from '@robusta/torch/testing';
import {
  centerCrop, cropAt, CIFAR10_MEAN, CIFAR10_STD, encodePng, flipWhere, IMAGENET_MEAN, IMAGENET_STD, normalize, randomCrop,
  randomCropOffsets, randomFlipMask, randomHorizontalFlip, readImageTensor, resize, resizedSize, Rng, toTensor,
} from '../../src/data/index.js';
import { rampBatch, testImage } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'robusta-transforms-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  w: number;
  h: number;
  /** A Python expression of the torchvision transform, and ours. */
  py: string;
  ts: (x: Tensor) => Tensor;
}

const cases: Case[] = [
  { w: 60, h: 40, py: 'T.Resize(24)', ts: (x) => resize(x, 24) },                     // downscale 1.67x, landscape
  { w: 40, h: 60, py: 'T.Resize(100)', ts: (x) => resize(x, 100) },                   // upscale, portrait
  { w: 131, h: 97, py: 'T.Resize(32)', ts: (x) => resize(x, 32) },                    // downscale ~3x, odd sizes
  { w: 53, h: 37, py: 'T.Resize((20, 70))', ts: (x) => resize(x, [20, 70]) },         // down in h, up in w
  { w: 29, h: 29, py: 'T.Resize(29)', ts: (x) => resize(x, 29) },                     // identity
  { w: 200, h: 150, py: 'T.Resize(64, max_size=80)', ts: (x) => resize(x, 64, { maxSize: 80 }) },
  { w: 48, h: 33, py: 'T.CenterCrop(20)', ts: (x) => centerCrop(x, 20) },              // (33-20)/2 = 6.5: Python rounds to 6
  { w: 48, h: 35, py: 'T.CenterCrop((15, 31))', ts: (x) => centerCrop(x, [15, 31]) },  // 10 and 8.5 -> 8
  { w: 20, h: 13, py: 'T.CenterCrop((18, 25))', ts: (x) => centerCrop(x, [18, 25]) },  // larger than the image: zero padding
  { w: 300, h: 230, py: 'T.Compose([T.Resize(256), T.CenterCrop(224)])', ts: (x) => centerCrop(resize(x, 256), 224) },
];

test('resize and centerCrop equal torchvision on PIL images (bilinear with antialiasing)', { skip: pyTorchSkip() }, () => {
  const paths = cases.map((c, i) => {
    const p = join(dir, `case${i}.png`);
    writeFileSync(p, encodePng(testImage(c.w, c.h, i + 10)));
    return p;
  });
  const refs = runPython<PyTensor[]>(`
from PIL import Image
import numpy as np
import torchvision.transforms as T
OUTPUT = []
for p, expr in zip(INPUT['paths'], INPUT['exprs']):
    out = eval(expr)(Image.open(p).convert('RGB'))
    OUTPUT.append(torch.from_numpy(np.asarray(out).copy()).permute(2, 0, 1))
`, { paths, exprs: cases.map((c) => c.py) });
  cases.forEach((c, i) => {
    tidy(() => {
      const x = readImageTensor(paths[i]!);
      const y = c.ts(x);
      assert.equal(y.dtype, 'uint8');
      const diff = maxAbsDiff(y, refs[i]!);
      // Pillow's fixed-point arithmetic is reproduced exactly: not a single pixel differs.
      assert.equal(diff, 0, `${c.py} on ${c.w}x${c.h}: max abs diff ${diff}`);
    });
  });
});

test('resizedSize follows torchvision (shorter side, long side rounded down, max_size)', () => {
  assert.deepEqual(resizedSize(375, 500, 256), [256, 341]);
  assert.deepEqual(resizedSize(500, 375, 256), [341, 256]);
  assert.deepEqual(resizedSize(100, 100, 32), [32, 32]);
  assert.deepEqual(resizedSize(100, 300, 50, 120), [40, 120]);
  assert.deepEqual(resizedSize(10, 20, [7, 9]), [7, 9]);
  assert.throws(() => resizedSize(10, 10, 0), RangeError);
  assert.throws(() => resizedSize(10, 10, 64, 64), RangeError);
});

test('resize works on batches and float images (a constant stays constant)', () => {
  tidy(() => {
    const batch = rampBatch(2, 3, 20, 30);
    const each = [0, 1].map((i) => resize(batch.select(0, i), 12));
    const together = resize(batch, 12);
    assert.deepEqual(together.shape, [2, 3, 12, 18]);
    for (const i of [0, 1]) assert.equal(together.select(0, i).eq(each[i]!).all().item(), 1);
    const flat = resize(tensor(new Float32Array(3 * 17 * 23).fill(0.25), { shape: [3, 17, 23] }), [40, 9]);
    assert.equal(flat.dtype, 'float32');
    assert.ok(flat.sub(0.25).abs().max().item() < 1e-6);
  });
});

test('toTensor and normalize equal torchvision ToTensor + Normalize', { skip: pyTorchSkip() }, () => {
  const p = join(dir, 'norm.png');
  writeFileSync(p, encodePng(testImage(9, 7, 3)));
  const ref = runPython<PyTensor>(`
from PIL import Image
import torchvision.transforms as T
OUTPUT = T.Compose([T.ToTensor(), T.Normalize(INPUT['mean'], INPUT['std'])])(Image.open(INPUT['p']).convert('RGB'))
`, { p, mean: IMAGENET_MEAN, std: IMAGENET_STD });
  tidy(() => {
    const x = toTensor(readImageTensor(p));
    assert.equal(x.dtype, 'float32');
    assert.ok(x.min().item() >= 0 && x.max().item() <= 1);
    const y = normalize(x, IMAGENET_MEAN, IMAGENET_STD);
    assert.ok(maxAbsDiff(y, ref) < 1e-5);
    // Batched normalize agrees with per-image.
    const b = normalize(x.unsqueeze(0).repeat([2, 1, 1, 1]), IMAGENET_MEAN, IMAGENET_STD);
    assert.ok(maxAbsDiff(b.select(0, 1), ref) < 1e-5);
    assert.throws(() => normalize(x, CIFAR10_MEAN.slice(0, 2), CIFAR10_STD), RangeError);
  });
});

test('randomCrop: seeded reproducible, right shape, each crop a window of the zero-padded image', () => {
  const before = tensorsNotDisposed();
  tidy(() => {
    const x = rampBatch(16, 3, 8, 8).float();
    const a = randomCrop(x, 8, 2, { rng: Rng.from(7) });
    const b = randomCrop(x, 8, 2, { rng: Rng.from(7) });
    const c = randomCrop(x, 8, 2, { rng: Rng.from(8) });
    assert.deepEqual(a.shape, [16, 3, 8, 8]);
    assert.equal(a.eq(b).all().item(), 1, 'same seed, same crops');
    assert.equal(a.eq(c).all().item(), 0, 'another seed, other crops');

    const offsets = randomCropOffsets(16, 8, 8, 8, 2, Rng.from(7));
    assert.ok(offsets.top.every((t) => t >= 0 && t <= 4) && offsets.left.every((l) => l >= 0 && l <= 4));
    assert.ok(new Set(offsets.top).size > 1, 'offsets vary across the batch');
    for (let i = 0; i < 16; i++) {
      // The window of the padded image: padded[i, :, top:top+8, left:left+8], padding zeros outside x.
      const top = offsets.top[i]!;
      const left = offsets.left[i]!;
      const expected = new Float32Array(3 * 8 * 8);
      const src = x.select(0, i).toFlatArray();
      for (let ch = 0; ch < 3; ch++) {
        for (let r = 0; r < 8; r++) {
          for (let q = 0; q < 8; q++) {
            const sr = top + r - 2;
            const sq = left + q - 2;
            expected[ch * 64 + r * 8 + q] = sr >= 0 && sr < 8 && sq >= 0 && sq < 8 ? src[ch * 64 + sr * 8 + sq]! : 0;
          }
        }
      }
      assert.deepEqual(a.select(0, i).toFlatArray(), Array.from(expected), `example ${i} at (${top}, ${left})`);
    }
    // Without padding and with a smaller size, crops stay inside; uint8 works too.
    const small = cropAt(rampBatch(2, 1, 6, 6), [3, 4], 0, { top: Int32Array.from([0, 3]), left: Int32Array.from([2, 0]) });
    assert.deepEqual(small.shape, [2, 1, 3, 4]);
    assert.equal(small.dtype, 'uint8');
    assert.deepEqual(small.select(0, 1).toFlatArray(), [18, 19, 20, 21, 24, 25, 26, 27, 30, 31, 32, 33].map((v) => v + 36));
    assert.throws(() => randomCrop(x, 13, 2, { rng: Rng.from(1) }), RangeError);
    assert.throws(() => randomCrop(x.select(0, 0), 8, 2), RangeError);
  });
  assert.equal(tensorsNotDisposed(), before, 'no tensor leaks');
});

test('randomHorizontalFlip: flipped examples are exact mirrors, the rest unchanged; p = 0 and 1', () => {
  tidy(() => {
    const x = rampBatch(32, 3, 4, 5);
    const mask = randomFlipMask(32, 0.5, Rng.from(3));
    const y = randomHorizontalFlip(x, 0.5, { rng: Rng.from(3) });
    const flips = mask.reduce((s, v) => s + v, 0);
    assert.ok(flips > 4 && flips < 28, `${flips} of 32 flipped`);
    for (let i = 0; i < 32; i++) {
      const xi = x.select(0, i).tolist() as number[][][];
      const yi = y.select(0, i).tolist() as number[][][];
      const want = mask[i] ? xi.map((ch) => ch.map((row) => [...row].reverse())) : xi;
      assert.deepEqual(yi, want, `example ${i} (flip ${mask[i]})`);
    }
    assert.equal(randomHorizontalFlip(x, 0, { rng: Rng.from(1) }).eq(x).all().item(), 1);
    assert.equal(randomHorizontalFlip(x, 1, { rng: Rng.from(1) }).eq(x.flip(3)).all().item(), 1);
    assert.equal(flipWhere(x, new Uint8Array(32).fill(1)).eq(x.flip(3)).all().item(), 1);
    assert.throws(() => randomHorizontalFlip(x, 1.5), RangeError);
  });
});

test('without an Rng, the augmentations follow torch.manualSeed', () => {
  const x = rampBatch(8, 1, 6, 6);
  manualSeed(42);
  const a = randomHorizontalFlip(randomCrop(x, 6, 3), 0.5);
  manualSeed(42);
  const b = randomHorizontalFlip(randomCrop(x, 6, 3), 0.5);
  const same = a.eq(b).all();
  assert.equal(same.item(), 1);
  dispose([x, a, b, same]);
});
