// Integration: torchvision's resnet50 (random weights, seed 0) saved by PyTorch with
// torch.save(model.state_dict()) loads with loadStateDict with exactly torchvision's keys, shapes,
// dtypes and values (SHA-256 of every tensor's bytes).
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { dispose } from '@robusta/torch';
import { loadStateDict } from '../../src/io/index.js';
import { python, skipWithoutTorch as skip, tempDir, tensorInfo, type TensorInfo } from './helpers.js';

const { dir, cleanup } = tempDir('resnet');
after(cleanup);

test('torchvision resnet50 state_dict saved by PyTorch loads with identical keys, shapes and values', { skip }, () => {
  const want = python<{ keys: string[]; infos: Record<string, TensorInfo> }>(dir, `
import torchvision
torch.manual_seed(0)
sd = torchvision.models.resnet50().state_dict()
torch.save(sd, P('resnet50.pt'))
OUTPUT = {'keys': list(sd.keys()), 'infos': infos(sd)}
`);
  const t0 = performance.now();
  const sd = loadStateDict(join(dir, 'resnet50.pt'));
  const loadMs = performance.now() - t0;
  try {
    assert.equal(want.keys.length, 320);
    assert.deepEqual([...sd.keys()], want.keys);
    for (const k of want.keys) {
      const w = want.infos[k]!;
      const g = tensorInfo(sd.get(k)!);
      assert.equal(g.dtype, w.dtype, `${k}: dtype`);
      assert.deepEqual(g.shape, w.shape, `${k}: shape`);
      assert.equal(g.sha, w.sha, `${k}: values`);
    }
    assert.deepEqual(sd.get('fc.weight')!.shape, [1000, 2048]);
    assert.equal(sd.get('layer1.0.bn1.num_batches_tracked')!.dtype, 'int64');
    assert.ok(loadMs < 20_000, `loading took ${loadMs.toFixed(0)} ms`);
  } finally {
    dispose(sd);
  }
});
