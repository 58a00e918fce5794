// The DataLoader: seeded order, coverage, dropLast, subsets, transforms, resumption, and the
// prefetching path (ImageFolder decoded in worker threads).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arange, cuda, dispose, tensorsNotDisposed, tidy } from '@robusta/torch';
import { pyTorchSkip, runPython } from '@robusta/torch/testing';
import {
  centerCrop, cropFlipAugmentation, DataLoader, encodeJpeg, encodePng, ImageFolder, resize, Rng, subset, TensorDataset, toTensor,
  WorkerPool, WorkerTaskError, type Batch, type Dataset,
} from '../../src/data/index.js';
import { testImage } from './helpers.js';

/** A dataset whose x is the example index (so batches reveal the order) and y = 2 * index. */
function indexDataset(n: number): TensorDataset {
  return tidy(() => new TensorDataset(arange(0, n).float().reshape([n, 1]), arange(0, n).mul(2)));
}
const xs = (b: Batch): number[] => b.x.toFlatArray();
function epochOrder(loader: DataLoader, epoch: number, checkY = true): number[][] {
  const out: number[][] = [];
  for (const b of loader.epoch(epoch)) {
    out.push(xs(b));
    if (checkY) assert.deepEqual(b.y.toFlatArray(), xs(b).map((v) => 2 * v), 'y travels with x');
    dispose(b);
  }
  return out;
}

test('Rng: deterministic, keyed streams differ, ints unbiased in range, permutations valid', () => {
  const a = Rng.from(1, 2);
  const b = Rng.from(1, 2);
  const seqA = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(seqA, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(seqA, Array.from({ length: 5 }, () => Rng.from(1, 3).nextUint32()));
  assert.notDeepEqual(Rng.from(2, 1).nextUint32(), Rng.from(1, 2).nextUint32());
  const r = Rng.from(9);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `counts ${counts}`);
  const u = Array.from({ length: 10000 }, () => r.next());
  assert.ok(u.every((v) => v >= 0 && v < 1));
  assert.ok(Math.abs(u.reduce((s, v) => s + v, 0) / u.length - 0.5) < 0.02);
  const p = Rng.from(4).permutation(1000);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.throws(() => Rng.from(1.5), RangeError);
  assert.throws(() => r.int(0), RangeError);
});

test('DataLoader: order is a pure function of (seed, epoch), covers every index, dropLast', () => {
  const ds = indexDataset(103);
  const before = tensorsNotDisposed();
  try {
    const loader = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5 });
    assert.equal(loader.length, 11);
    const e0 = epochOrder(loader, 0);
    const e1 = epochOrder(loader, 1);
    assert.deepEqual(e0.map((b) => b.length), [...new Array(10).fill(10), 3]);
    assert.deepEqual(e0.flat().sort((a, b) => a - b), Array.from({ length: 103 }, (_, i) => i), 'each index exactly once');
    assert.deepEqual(e1.flat().sort((a, b) => a - b), Array.from({ length: 103 }, (_, i) => i));
    assert.notDeepEqual(e0, e1, 'epochs differ');
    assert.notDeepEqual(e0.flat(), Array.from({ length: 103 }, (_, i) => i), 'shuffled');
    // Pure: a fresh loader (a resumed run), epochs visited in any order, gives the same batches.
    const resumed = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5 });
    assert.deepEqual(epochOrder(resumed, 1), e1);
    assert.deepEqual(epochOrder(resumed, 0), e0);
    assert.deepEqual(Array.from(resumed.order(1)), e1.flat());
    assert.notDeepEqual(epochOrder(new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 6 }), 0), e0, 'the seed matters');

    const dropped = new DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5, dropLast: true });
    assert.equal(dropped.length, 10);
    const d0 = epochOrder(dropped, 0);
    assert.ok(d0.every((b) => b.length === 10));
    assert.deepEqual(d0, e0.slice(0, 10), 'dropLast only drops the short tail');

    const plain = new DataLoader(ds, { batchSize: 50 });
    assert.deepEqual(epochOrder(plain, 3).flat(), Array.from({ length: 103 }, (_, i) => i), 'no shuffle: dataset order');
  } finally {
    assert.equal(tensorsNotDisposed(), before, 'consumed batches were all freed');
    ds.dispose();
  }
});

test('DataLoader: subset, resuming mid-epoch, random access, transforms with per-batch Rng', () => {
  const ds = indexDataset(40);
  try {
    const firstTen = new DataLoader(ds, { batchSize: 4, subset: 10 });
    assert.deepEqual(epochOrder(firstTen, 0).flat(), Array.from({ length: 10 }, (_, i) => i));
    const picked = new DataLoader(ds, { batchSize: 4, subset: [5, 7, 39] });
    assert.deepEqual(epochOrder(picked, 0), [[5, 7, 39]]);
    const viaFunction = new DataLoader(subset(ds, 6), { batchSize: 6, shuffle: true, seed: 1 });
    assert.deepEqual(epochOrder(viaFunction, 0).flat().sort(), [0, 1, 2, 3, 4, 5]);

    // The transform's randomness depends on (seed, epoch, batch) only.
    const noisy = (seed: number): DataLoader => new DataLoader(ds, {
      batchSize: 8, shuffle: true, seed,
      transform: (b, { rng }) => ({ x: b.x.add(rng.next()), y: b.y }),
    });
    const full = epochOrder(noisy(3), 2, false);
    const tail: number[][] = [];
    for (const b of noisy(3).epoch(2, { start: 3 })) { tail.push(xs(b)); dispose(b); }
    assert.deepEqual(tail, full.slice(3), 'resuming at batch 3 gives the same batches');
    const third = noisy(3).batch(2, 3);
    assert.deepEqual(xs(third), full[3]);
    dispose(third);
    assert.ok(full.flat().some((v) => !Number.isInteger(v)), 'the transform ran');
    assert.throws(() => noisy(3).batch(2, 5), RangeError);
    assert.throws(() => new DataLoader(ds, { batchSize: 0 }), RangeError);
  } finally {
    ds.dispose();
  }
});

test('DataLoader: the CIFAR augmentation is reproducible per (seed, epoch) and keeps labels', () => {
  const ds = tidy(() => new TensorDataset(arange(0, 8 * 3 * 8 * 8).float().reshape([8, 3, 8, 8]), arange(0, 8)));
  try {
    const make = (): DataLoader => new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 11, transform: cropFlipAugmentation({ padding: 2 }) });
    const run = (l: DataLoader, e: number): number[][] => {
      const out: number[][] = [];
      for (const b of l.epoch(e)) { assert.deepEqual(b.x.shape, [4, 3, 8, 8]); out.push(b.x.toFlatArray(), b.y.toFlatArray()); dispose(b); }
      return out;
    };
    const a = run(make(), 1);
    assert.deepEqual(run(make(), 1), a);
    assert.notDeepEqual(run(make(), 2), a);
  } finally {
    ds.dispose();
  }
});

/** Writes an ImageFolder tree: class folders (one nested), PNG and JPEG files, and a non-image. */
function makeImageTree(): { root: string; files: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'robusta-folder-'));
  const files: string[] = [];
  const put = (rel: string, w: number, h: number, seed: number): void => {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, rel.endsWith('.png') ? encodePng(testImage(w, h, seed)) : encodeJpeg(testImage(w, h, seed), 92));
    files.push(p);
  };
  let seed = 0;
  for (const cls of ['dog', 'cat', 'Zebra', 'ant-eater']) {
    for (let i = 0; i < 4; i++) put(`${cls}/img_${String(10 - i).padStart(2, '0')}.${i % 2 ? 'png' : 'jpg'}`, 20 + i, 14 + seed % 5, seed++);
  }
  put('cat/sub/deep.PNG', 30, 20, seed++);
  put('cat/sub dir/x.jpeg', 18, 25, seed++);
  writeFileSync(join(root, 'dog', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'README'), 'top-level file, not a class');
  return { root, files };
}

test('ImageFolder: classes and samples ordered exactly like torchvision.datasets.ImageFolder', { skip: pyTorchSkip() }, () => {
  const { root } = makeImageTree();
  try {
    const ds = new ImageFolder(root, { transform: (img) => toTensor(centerCrop(resize(img, 12), 12)) });
    const ref = runPython<[number[], number[]]>(`
import torchvision
ds = torchvision.datasets.ImageFolder(INPUT['root'], loader=lambda p: p)
names = INPUT['classes']
# Compare through indices into the lists JS sent (J() carries numbers only).
OUTPUT = [[names.index(c) for c in ds.classes], [INPUT['paths'].index(p) * 1000 + l for p, l in ds.samples]]
`, { root, classes: ds.classes, paths: ds.samples.map((s) => s.path) });
    assert.deepEqual(ref[0], ds.classes.map((_, i) => i), `torchvision classes order; ours: ${ds.classes.join(', ')}`);
    assert.deepEqual(ref[1], ds.samples.map((s, i) => i * 1000 + s.label), 'samples and labels in the same order');
    assert.deepEqual(ds.classes, ['Zebra', 'ant-eater', 'cat', 'dog']);
    assert.equal(ds.length, 18);
    assert.ok(ds.samples.some((s) => relative(root, s.path) === join('cat', 'sub', 'deep.PNG')), 'extensions match case-insensitively');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ImageFolder + DataLoader: worker prefetch gives exactly the sync batches; errors surface; no leaks', async () => {
  const { root } = makeImageTree();
  try {
    const ds = new ImageFolder(root, { transform: (img) => toTensor(centerCrop(resize(img, 16), 16)) });
    const loader = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 2, workers: 2, prefetch: 3 });
    const sync: { x: number[]; y: number[] }[] = [];
    for (const b of loader.epoch(1)) { sync.push({ x: b.x.toFlatArray(), y: b.y.toFlatArray() }); dispose(b); }
    assert.equal(sync.length, 4);
    assert.deepEqual(sync.map((b) => b.y.length), [5, 5, 5, 3]);

    const before = tensorsNotDisposed();
    const t0 = performance.now();
    const viaWorkers: { x: number[]; y: number[] }[] = [];
    for await (const b of loader.epoch(1)) {
      assert.deepEqual(b.x.shape.slice(1), [3, 16, 16]);
      viaWorkers.push({ x: b.x.toFlatArray(), y: b.y.toFlatArray() });
      dispose(b);
    }
    console.log(`# prefetched epoch (2 workers): ${(performance.now() - t0).toFixed(0)} ms`);
    assert.deepEqual(viaWorkers, sync, 'identical batches through the workers');
    assert.equal(tensorsNotDisposed(), before, 'no tensors left behind');

    // Stopping early closes the pool (the test would hang on live workers otherwise).
    for await (const b of loader.epoch(0)) { dispose(b); break; }
    // Resuming mid-epoch on the async path.
    const tail: number[][] = [];
    for await (const b of loader.epoch(1, { start: 2 })) { tail.push(b.y.toFlatArray()); dispose(b); }
    assert.deepEqual(tail, sync.slice(2).map((b) => b.y));

    // Images of different sizes without a resizing transform cannot be stacked: a clear error.
    const raw = new DataLoader(new ImageFolder(root), { batchSize: 18, workers: 1 });
    await assert.rejects(async () => { for await (const b of raw.epoch(0)) dispose(b); }, /one size/);

    // A corrupt file fails in the worker and the error reaches the consumer.
    writeFileSync(join(root, 'dog', 'img_10.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2]));
    const broken = new DataLoader(new ImageFolder(root, { transform: (img) => toTensor(centerCrop(img, 8)) }), { batchSize: 18, workers: 2 });
    await assert.rejects(async () => { for await (const b of broken.epoch(0)) dispose(b); }, /img_10\.jpg/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('DataLoader: the async iterator also serves in-memory datasets (no workers needed)', async () => {
  const ds: Dataset = indexDataset(9);
  const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 });
  const got: number[][] = [];
  for await (const b of loader.epoch(0)) { got.push(xs(b)); dispose(b); }
  assert.deepEqual(got, epochOrder(loader, 0));
  (ds as TensorDataset).dispose();
});

test('worker threads never load @robusta/torch: the decode task module graph is pure JS', () => {
  const start = fileURLToPath(new URL('../../src/data/image-decode-task.js', import.meta.url));
  const host = fileURLToPath(new URL('../../src/data/worker-host.js', import.meta.url));
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(start);
  visit(host);
  assert.ok(seen.size >= 3, `followed ${[...seen].join(', ')}`);
  assert.ok(bare.has('jpeg-js') && bare.has('pngjs'), `imports seen: ${[...bare].join(', ')}`);
  for (const spec of bare) assert.ok(!spec.includes('torch'), `a worker module imports ${spec}`);
});

test('DataLoader on CUDA: batches and augmentations on the GPU equal the CPU ones', { skip: !cuda.isAvailable() && 'no CUDA device' }, () => {
  const ds = tidy(() => new TensorDataset(arange(0, 6 * 3 * 8 * 8).float().reshape([6, 3, 8, 8]), arange(0, 6)));
  const gpu = ds.to('cuda');
  try {
    const options = { batchSize: 4, shuffle: true, seed: 3, transform: cropFlipAugmentation({ padding: 2 }) };
    const onCpu = [...new DataLoader(ds, options).epoch(1)];
    const moved = [...new DataLoader(ds, { ...options, device: 'cuda' }).epoch(1)];
    const onGpu = [...new DataLoader(gpu, options).epoch(1)];
    for (let i = 0; i < onCpu.length; i++) {
      assert.equal(moved[i]!.x.device.startsWith('cuda'), true);
      assert.deepEqual(moved[i]!.x.toFlatArray(), onCpu[i]!.x.toFlatArray());
      assert.deepEqual(onGpu[i]!.x.toFlatArray(), onCpu[i]!.x.toFlatArray());
      assert.deepEqual(onGpu[i]!.y.toFlatArray(), onCpu[i]!.y.toFlatArray());
    }
    dispose([onCpu, moved, onGpu]);
  } finally {
    ds.dispose();
    gpu.dispose();
  }
});

test('WorkerPool: a task module that cannot load fails the tasks instead of hanging', async () => {
  const pool = new WorkerPool(new URL('file:///nonexistent/robusta-task.js'), 2);
  try {
    await assert.rejects(pool.run({}), (e: unknown) => e instanceof WorkerTaskError);
    await assert.rejects(pool.run({}), (e: unknown) => e instanceof WorkerTaskError);
  } finally {
    await pool.close();
  }
});
