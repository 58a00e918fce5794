// CIFAR-10/100 in the official binary format, written here (tiny), packed with the system tar,
// served from a 127.0.0.1 HTTP server: reading, download, checksum, resume, and failure modes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  ChecksumError, DataFormatError, DownloadError, loadCifar10, loadCifar100, parseCifarRecords, readTar,
} from '../../src/data/index.js';

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

interface Records { file: Uint8Array; labels: number[][]; pixels: Uint8Array[] }
/** n records of `labels` label bytes + 3072 pixel bytes, labels below `classes`. */
function records(n: number, labelBytes: number, classes: number[], seed: number): Records {
  const pixels: Uint8Array[] = [];
  const labels: number[][] = [];
  const file = new Uint8Array(n * (labelBytes + 3072));
  for (let i = 0; i < n; i++) {
    const l = classes.map((c, k) => (i * (k + 3) + seed) % c);
    const p = bytes(3072, seed * 1000 + i);
    file.set(l, i * (labelBytes + 3072));
    file.set(p, i * (labelBytes + 3072) + labelBytes);
    labels.push(l);
    pixels.push(p);
  }
  return { file, labels, pixels };
}

interface Fixture { dir: string; archive10: Buffer; archive100: Buffer; batches: Records[]; testBatch: Records; c100: Records }

/** Writes the official folder layouts and packs them as tar.gz with the system tar. */
function makeFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-cifar-src-'));
  const c10 = join(dir, 'cifar-10-batches-bin');
  mkdirSync(c10);
  const batches = [1, 2, 3, 4, 5].map((i) => records(20, 1, [10], i));
  batches.forEach((b, i) => writeFileSync(join(c10, `data_batch_${i + 1}.bin`), b.file));
  const testBatch = records(20, 1, [10], 9);
  writeFileSync(join(c10, 'test_batch.bin'), testBatch.file);
  writeFileSync(join(c10, 'batches.meta.txt'), `${CIFAR10_NAMES.join('\n')}\n\n`);
  writeFileSync(join(c10, 'readme.html'), '<html></html>');
  const c100dir = join(dir, 'cifar-100-binary');
  mkdirSync(c100dir);
  const c100 = records(20, 2, [20, 100], 5);
  writeFileSync(join(c100dir, 'train.bin'), c100.file);
  writeFileSync(join(c100dir, 'test.bin'), records(20, 2, [20, 100], 6).file);
  writeFileSync(join(c100dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine_${i}`).join('\n'));
  writeFileSync(join(c100dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse_${i}`).join('\n'));
  execFileSync('tar', ['czf', join(dir, 'cifar-10-binary.tar.gz'), '-C', dir, 'cifar-10-batches-bin']);
  execFileSync('tar', ['czf', join(dir, 'cifar-100-binary.tar.gz'), '-C', dir, 'cifar-100-binary']);
  return {
    dir, batches, testBatch, c100,
    archive10: readFileSync(join(dir, 'cifar-10-binary.tar.gz')),
    archive100: readFileSync(join(dir, 'cifar-100-binary.tar.gz')),
  };
}

interface Served { server: Server; url: string; requests: { path: string; range?: string }[] }

/** Serves files by name, honouring "Range: bytes=N-" like a real web server. */
async function serve(files: Record<string, Buffer>): Promise<Served> {
  const requests: Served['requests'] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop() ?? '';
    requests.push({ path: req.url ?? '', range: req.headers.range });
    const body = files[name];
    if (body === undefined) { res.writeHead(404).end(); return; }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const from = Number(m[1]);
      if (from >= body.length) { res.writeHead(416).end(); return; }
      res.writeHead(206, { 'content-length': body.length - from, 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(from));
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/data/`, requests };
}
const close = (s: Served): Promise<void> => new Promise((resolve) => s.server.close(() => resolve()));

const fixture = makeFixture();
test.after(() => rmSync(fixture.dir, { recursive: true, force: true }));

test('tar reader: lists what the system tar packed (long names, folders, exact bytes)', () => {
  const src = mkdtempSync(join(tmpdir(), 'robusta-tar-'));
  try {
    const longName = `${'a'.repeat(60)}/${'b'.repeat(70)}/file-with-a-long-name-${'c'.repeat(40)}.bin`;
    mkdirSync(join(src, 'top', longName, '..'), { recursive: true });
    const payload = bytes(1500, 3);
    writeFileSync(join(src, 'top', longName), payload);
    writeFileSync(join(src, 'top', 'empty.txt'), '');
    for (const format of ['gnu', 'posix', 'ustar']) {
      const tarPath = join(src, `x-${format}.tar`);
      try {
        execFileSync('tar', [`--format=${format}`, '-cf', tarPath, '-C', src, 'top'], { stdio: 'ignore' });
      } catch {
        if (format === 'ustar') continue; // ustar cannot store a name this long: the other formats cover it
        throw new Error(`tar --format=${format} failed`);
      }
      const entries = readTar(readFileSync(tarPath));
      const file = entries.find((e) => e.name === `top/${longName}`);
      assert.ok(file, `${format}: long name found among ${entries.map((e) => e.name).join(', ')}`);
      assert.equal(file.type, 'file');
      assert.deepEqual(Buffer.from(file.data), Buffer.from(payload));
      assert.equal(entries.find((e) => e.name === 'top/empty.txt')?.size, 0);
      assert.equal(entries.find((e) => e.name === 'top')?.type, 'directory');
    }
    const good = readFileSync(join(src, 'x-gnu.tar'));
    assert.throws(() => readTar(good.subarray(0, 1200)), (e: unknown) => e instanceof DataFormatError && /truncated/.test(e.message));
    const corrupt = Buffer.from(good);
    corrupt[10] = corrupt[10]! ^ 0xff;
    assert.throws(() => readTar(corrupt), (e: unknown) => e instanceof DataFormatError && /checksum/.test(e.message));
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
});

test('CIFAR records: labels and CHW pixels split by tensor slicing; truncated files refused', () => {
  const r = records(3, 2, [20, 100], 11);
  const { images, labels } = parseCifarRecords(r.file, 2);
  assert.deepEqual(images.shape, [3, 3, 32, 32]);
  assert.deepEqual(labels.tolist(), r.labels);
  const second = images.select(0, 1).reshape([3072]);
  assert.deepEqual(Buffer.from(second.data() as Uint8Array), Buffer.from(r.pixels[1]!));
  // Pixel (channel 2, row 5, col 7) of record 1 is byte 2*1024 + 5*32 + 7 of its pixel block.
  const px = images.select(0, 1).select(0, 2).select(0, 5).select(0, 7);
  assert.equal(px.item(), r.pixels[1]![2 * 1024 + 5 * 32 + 7]);
  for (const t of [images, labels, second, px]) t.dispose();
  assert.throws(() => parseCifarRecords(r.file.subarray(0, 3074 * 2 + 100), 2, 'cut.bin'),
    (e: unknown) => e instanceof DataFormatError && /cut\.bin.*whole number/.test(e.message));
});

test('CIFAR-10: download from a local server, verify MD5, extract, read; the second call is offline', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  const served = await serve({ 'cifar-10-binary.tar.gz': fixture.archive10 });
  try {
    const opts = { root, baseUrl: served.url, md5: md5(fixture.archive10) };
    const train = await loadCifar10('train', opts);
    const testSet = await loadCifar10('test', opts);
    try {
      assert.equal(served.requests.length, 1, 'one download for both splits');
      assert.deepEqual(train.images.shape, [100, 3, 32, 32]);
      assert.deepEqual(testSet.images.shape, [20, 3, 32, 32]);
      assert.deepEqual(train.classes, CIFAR10_NAMES);
      assert.deepEqual(train.labels.toFlatArray(), fixture.batches.flatMap((b) => b.labels.map((l) => l[0]!)));
      assert.deepEqual(testSet.labels.toFlatArray(), fixture.testBatch.labels.map((l) => l[0]!));
      // Example 47 is record 7 of data_batch_3.
      const img = train.images.select(0, 47).reshape([3072]);
      assert.deepEqual(Buffer.from(img.data() as Uint8Array), Buffer.from(fixture.batches[2]!.pixels[7]!));
      img.dispose();
      const b = train.get([47]);
      assert.equal(b.x.dtype, 'float32');
      assert.ok(Math.abs(b.x.reshape([-1]).select(0, 100).item() - fixture.batches[2]!.pixels[7]![100]! / 255) < 1e-7);
      b.x.dispose();
      b.y.dispose();
    } finally {
      train.dispose();
      testSet.dispose();
    }
    await close(served);
    // Idempotent: everything is cached, so no server is needed any more.
    const again = await loadCifar10('test', { root, baseUrl: 'http://127.0.0.1:9/', md5: opts.md5 });
    assert.deepEqual(again.images.shape, [20, 3, 32, 32]);
    again.dispose();
  } finally {
    if (served.server.listening) await close(served);
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10: a checksum mismatch deletes the file and says so', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  const served = await serve({ 'cifar-10-binary.tar.gz': fixture.archive10 });
  try {
    // The default checksum is the official archive's, which the test archive does not have.
    await assert.rejects(loadCifar10('train', { root, baseUrl: served.url }), (e: unknown) => {
      assert.ok(e instanceof ChecksumError, String(e));
      assert.equal(e.expected, 'c32a1d4ab5d03f1284b67883e8d87530');
      assert.equal(e.actual, md5(fixture.archive10));
      assert.match(e.message, /deleted/);
      return true;
    });
    assert.equal(existsSync(join(root, 'cifar-10-binary.tar.gz')), false);
    assert.equal(existsSync(join(root, 'cifar-10-binary.tar.gz.part')), false);
    assert.equal(existsSync(join(root, 'cifar-10-batches-bin')), false);
  } finally {
    await close(served);
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10: server down or file missing gives a DownloadError; download: false never connects', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  const served = await serve({});
  const deadUrl = served.url;
  try {
    await assert.rejects(loadCifar10('train', { root, baseUrl: served.url }),
      (e: unknown) => e instanceof DownloadError && /HTTP 404/.test(e.message));
    await close(served);
    await assert.rejects(loadCifar10('train', { root, baseUrl: deadUrl }),
      (e: unknown) => e instanceof DownloadError && /ECONNREFUSED/.test(e.message) && /offline/.test(e.message));
    await assert.rejects(loadCifar10('train', { root, baseUrl: deadUrl, download: false }),
      (e: unknown) => e instanceof DataFormatError && /download is off/.test(e.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10: an interrupted download resumes with a Range request; ROBUSTA_CIFAR_URL sets the base URL', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  const served = await serve({ 'cifar-10-binary.tar.gz': fixture.archive10 });
  const half = Math.floor(fixture.archive10.length / 2);
  writeFileSync(join(root, 'cifar-10-binary.tar.gz.part'), fixture.archive10.subarray(0, half));
  process.env.ROBUSTA_CIFAR_URL = served.url;
  try {
    const ds = await loadCifar10('test', { root, md5: md5(fixture.archive10) });
    assert.deepEqual(ds.images.shape, [20, 3, 32, 32]);
    ds.dispose();
    assert.equal(served.requests.length, 1);
    assert.equal(served.requests[0]!.range, `bytes=${half}-`);
    assert.deepEqual(readFileSync(join(root, 'cifar-10-binary.tar.gz')), fixture.archive10);
  } finally {
    delete process.env.ROBUSTA_CIFAR_URL;
    await close(served);
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10: an archive placed by hand is used offline (download: false), after its checksum is verified', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  try {
    writeFileSync(join(root, 'cifar-10-binary.tar.gz'), fixture.archive10);
    await assert.rejects(loadCifar10('test', { root, download: false }), ChecksumError);
    assert.equal(existsSync(join(root, 'cifar-10-binary.tar.gz')), false, 'the mismatching file was deleted');
    writeFileSync(join(root, 'cifar-10-binary.tar.gz'), fixture.archive10);
    const ds = await loadCifar10('test', { root, download: false, md5: md5(fixture.archive10), baseUrl: 'http://127.0.0.1:9/' });
    assert.deepEqual(ds.labels.toFlatArray(), fixture.testBatch.labels.map((l) => l[0]!));
    ds.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10: a cached archive that is not gzip, or lacks files, is reported', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  try {
    const junk = Buffer.from('not an archive');
    writeFileSync(join(root, 'cifar-10-binary.tar.gz'), junk);
    await assert.rejects(loadCifar10('train', { root, download: false, md5: md5(junk) }),
      (e: unknown) => e instanceof DataFormatError && /gzip/.test(e.message));
    const empty = gzipSync(Buffer.alloc(1024)); // a valid, empty tar
    writeFileSync(join(root, 'cifar-10-binary.tar.gz'), empty);
    await assert.rejects(loadCifar10('train', { root, download: false, md5: md5(empty) }),
      (e: unknown) => e instanceof DataFormatError && /did not contain .*data_batch_1\.bin/.test(e.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-100: fine and coarse labels, class names from the archive', async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-cifar-'));
  const served = await serve({ 'cifar-100-binary.tar.gz': fixture.archive100 });
  try {
    const opts = { root, baseUrl: served.url, md5: md5(fixture.archive100) };
    const fine = await loadCifar100('train', opts);
    const coarse = await loadCifar100('train', { ...opts, labelType: 'coarse' });
    try {
      assert.deepEqual(fine.images.shape, [20, 3, 32, 32]);
      assert.equal(fine.classes.length, 100);
      assert.equal(fine.classes[42], 'fine_42');
      assert.equal(coarse.classes.length, 20);
      assert.deepEqual(fine.labels.toFlatArray(), fixture.c100.labels.map((l) => l[1]!));
      assert.deepEqual(coarse.labels.toFlatArray(), fixture.c100.labels.map((l) => l[0]!));
      const img = fine.images.select(0, 19).reshape([3072]);
      assert.deepEqual(Buffer.from(img.data() as Uint8Array), Buffer.from(fixture.c100.pixels[19]!));
      img.dispose();
    } finally {
      fine.dispose();
      coarse.dispose();
    }
  } finally {
    await close(served);
    rmSync(root, { recursive: true, force: true });
  }
});
