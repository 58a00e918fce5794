// Image files: PNG/JPEG decoding against PIL (the loader torchvision uses), round trips, tensors.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, tidy } from '@robusta/torch';
import { pyTorchSkip, runPython, type PyTensor } from '@robusta/torch/testing';
import {
  decodeImage, encodeJpeg, encodePng, ImageDecodeError, imageToTensor, readImage, readImageTensor, saveImage, tensorToImage,
} from '../../src/data/index.js';
import { testImage } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'robusta-image-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('PNG: encode then decode gives the exact RGB bytes back', () => {
  const img = testImage(37, 21, 1);
  const png = encodePng(img);
  assert.deepEqual(Array.from(png.subarray(1, 4)), [0x50, 0x4e, 0x47]);
  const back = decodeImage(png);
  assert.equal(back.width, 37);
  assert.equal(back.height, 21);
  assert.deepEqual(Buffer.from(back.data), Buffer.from(img.data));
});

test('JPEG: encode then decode stays close to the original', () => {
  const img = testImage(48, 40, 2);
  const back = decodeImage(encodeJpeg(img, 95));
  assert.equal(back.width, 48);
  let sum = 0;
  for (let i = 0; i < img.data.length; i++) sum += Math.abs(back.data[i]! - img.data[i]!);
  const mean = sum / img.data.length;
  assert.ok(mean < 6, `mean abs error ${mean}`);
});

test('decoding matches PIL convert("RGB") for PNG modes (RGB, L, LA, RGBA, P) and JPEG', { skip: pyTorchSkip() }, () => {
  const src = join(dir, 'src.png');
  writeFileSync(src, encodePng(testImage(29, 17, 3)));
  const smooth = join(dir, 'smooth.png');
  writeFileSync(smooth, encodePng(testImage(64, 48, 3, 0.02, 0.15)));
  const names = ['rgb.png', 'grey.png', 'la.png', 'rgba.png', 'palette.png', 'q95-444.jpg', 'q90-420.jpg', 'grey.jpg'];
  const files = names.map((n) => join(dir, n));
  // PIL writes each mode, then reads it back the way torchvision's loader does.
  const refs = runPython<PyTensor[]>(`
from PIL import Image
import numpy as np, os
src = Image.open(INPUT['src']).convert('RGB')
def path(name): return os.path.join(INPUT['dir'], name)
src.save(path('rgb.png'))
src.convert('L').save(path('grey.png'))
la = src.convert('LA'); la.putalpha(src.convert('L').point(lambda v: 255 - v)); la.save(path('la.png'))
rgba = src.convert('RGBA'); rgba.putalpha(src.getchannel('R')); rgba.save(path('rgba.png'))
src.convert('P', palette=Image.ADAPTIVE, colors=16).save(path('palette.png'))
src.save(path('q95-444.jpg'), quality=95, subsampling=0)
Image.open(INPUT['smooth']).convert('RGB').save(path('q90-420.jpg'), quality=90)
src.convert('L').save(path('grey.jpg'), quality=90)
OUTPUT = [torch.from_numpy(np.asarray(Image.open(path(n)).convert('RGB')).copy()) for n in INPUT['names']]
`, { src, smooth, dir, names });
  files.forEach((file, k) => {
    const img = readImage(file);
    const ref = refs[k]!;
    assert.deepEqual([img.height, img.width, 3], ref.shape, file);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < img.data.length; i++) {
      const d = Math.abs(img.data[i]! - ref.data[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    const mean = sum / img.data.length;
    if (file.endsWith('.jpg')) console.log(`# ${names[k]}: jpeg-js vs PIL mean abs diff ${mean.toFixed(2)}, max ${max}`);
    if (file.endsWith('.png')) assert.equal(max, 0, `${file}: max diff ${max}`);
    // jpeg-js and libjpeg differ in IDCT rounding, and for 4:2:0 chroma in upsampling (jpeg-js
    // replicates, libjpeg interpolates): small on smooth colour, larger at sharp colour edges.
    else if (file.includes('420')) assert.ok(mean < 1.5 && max <= 12, `${file}: mean ${mean}, max ${max}`);
    else assert.ok(mean < 1 && max <= 8, `${file}: mean ${mean}, max ${max}`);
  });
});

// PIL's convert('RGB') of a 16-bit image clips to 255 instead of rescaling, so it is no reference for the
// pixel values: the reference is the 16-bit samples as PIL (grey) or the PNG bytes themselves (RGB)
// hold them, mapped to 8 bits by round(v·255/65535) — what robusta promises. Random samples use all
// 16 bits, so taking the high byte (v >> 8) instead would differ on many pixels.
test('16-bit PNG (grey and RGB): every pixel is round(v·255/65535) of the 16-bit sample PIL and the file hold', { skip: pyTorchSkip() }, () => {
  const out = runPython<{ grey: PyTensor; rgb: PyTensor; rgb_check: PyTensor }>(`
from PIL import Image
import numpy as np, os, struct, zlib
rng = np.random.default_rng(7)
grey = rng.integers(0, 65536, size=(13, 19), dtype=np.uint16)
Image.fromarray(grey).save(os.path.join(INPUT, 'grey16.png'))
back = np.asarray(Image.open(os.path.join(INPUT, 'grey16.png'))).astype(np.int64)
assert Image.open(os.path.join(INPUT, 'grey16.png')).mode in ('I', 'I;16') and (back == grey).all()
# 16-bit truecolour written by hand (PIL cannot): IHDR depth 16, colour type 2, filter 0 rows, big-endian samples.
rgb = rng.integers(0, 65536, size=(11, 7, 3), dtype=np.uint16)
def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
raw = b''.join(b'\\x00' + row.astype('>u2').tobytes() for row in rgb)
png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 7, 11, 16, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open(os.path.join(INPUT, 'rgb16.png'), 'wb').write(png)
scale = lambda v: torch.from_numpy(np.floor(v.astype(np.float64) * 255 / 65535 + 0.5))
OUTPUT = {'grey': scale(np.repeat(back[:, :, None], 3, axis=2)), 'rgb': scale(rgb), 'rgb_check': torch.from_numpy((rgb >> 8).astype(np.float64))}
`, dir);
  for (const [file, want] of [['grey16.png', out.grey], ['rgb16.png', out.rgb]] as const) {
    const img = readImage(join(dir, file));
    assert.deepEqual([img.height, img.width, 3], want.shape, file);
    const bad = want.data.flatMap((v, i) => (img.data[i] !== v ? [i] : []));
    assert.deepEqual(bad.slice(0, 5).map((i) => [i, img.data[i], want.data[i]]), [], `${file}: ${bad.length} pixels differ ([index, robusta, expected])`);
  }
  // The samples do tell rounding from truncation.
  assert.ok(out.rgb.data.filter((v, i) => v !== out.rgb_check.data[i]).length > 10);
});

test('our PNG files read back identically in PIL', { skip: pyTorchSkip() }, () => {
  const img = testImage(23, 31, 4);
  const p = join(dir, 'ours.png');
  writeFileSync(p, encodePng(img));
  const [isRgb, ref] = runPython<[boolean, PyTensor]>(`
from PIL import Image
import numpy as np
im = Image.open(INPUT)
OUTPUT = [im.mode == 'RGB', torch.from_numpy(np.asarray(im).copy())]
`, p);
  assert.equal(isRgb, true);
  assert.deepEqual(ref.shape, [31, 23, 3]);
  assert.deepEqual(ref.data, Array.from(img.data));
});

test('tensors: imageToTensor is CHW uint8; tensorToImage maps floats like save_image; saveImage writes PNG', () => {
  const img = testImage(5, 4, 5);
  tidy(() => {
    const t = imageToTensor(img);
    assert.deepEqual(t.shape, [3, 4, 5]);
    assert.equal(t.dtype, 'uint8');
    // t[c, y, x] = data[(y * w + x) * 3 + c]
    assert.equal(t.select(0, 2).select(0, 3).select(0, 1).item(), img.data[(3 * 5 + 1) * 3 + 2]);
    assert.deepEqual(Buffer.from(tensorToImage(t).data), Buffer.from(img.data));

    const f = tensor([[[0, 0.5, 1.2, -0.1, 0.999]]]); // [1, 1, 5] grey
    const grey = tensorToImage(f);
    assert.deepEqual(Array.from(grey.data), [0, 0, 0, 128, 128, 128, 255, 255, 255, 0, 0, 0, 255, 255, 255]);
    assert.throws(() => tensorToImage(tensor([1, 2, 3])), RangeError);

    const p = join(dir, 'saved.png');
    saveImage(p, t.float().div(255).unsqueeze(0));
    const back = readImageTensor(p);
    assert.equal(back.eq(t).all().item(), 1);
  });
});

test('bad image files give ImageDecodeError', () => {
  assert.throws(() => decodeImage(Buffer.from('GIF89a....')), (e: unknown) => e instanceof ImageDecodeError && /not a PNG or JPEG/.test(e.message));
  const png = encodePng(testImage(8, 8, 6));
  assert.throws(() => decodeImage(png.subarray(0, 40), 'cut.png'), (e: unknown) => e instanceof ImageDecodeError && /cut\.png/.test(e.message));
  const jpg = encodeJpeg(testImage(8, 8, 6));
  assert.throws(() => decodeImage(jpg.subarray(0, 30), 'cut.jpg'), ImageDecodeError);
  assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5) }), RangeError);
});
