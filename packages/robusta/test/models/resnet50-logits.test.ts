// Acceptance: torchvision's ResNet-50 with random weights, saved by PyTorch, loads into robusta's
// resnet50 and gives PyTorch's logits on the same input in eval mode (tolerance 1e-4 absolute on
// logits of magnitude ~1; the two run the same libtorch kernels, so differences are reduction order only).
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { dispose, noGrad, tensor } from '@robusta/torch';
import { pyTorchSkip, pythonPath } from '@robusta/torch/testing';
import { loadStateDict } from '../../src/io/index.js';
import { createModel } from '../../src/models/index.js';

test('ResNet-50 saved by torchvision gives the same logits in robusta (eval mode)', { skip: pyTorchSkip(), timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-r50-'));
  try {
    execFileSync(pythonPath(), ['-c', `
import torch, torchvision, numpy as np
torch.manual_seed(0)
m = torchvision.models.resnet50().eval()
# Non-trivial BN statistics, so that eval mode is really exercised.
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)
torch.save(m.state_dict(), '${dir}/r50.pth')
x = torch.rand(2, 3, 224, 224)
with torch.no_grad(): y = m(x)
x.numpy().astype('<f4').tofile('${dir}/x.bin'); y.numpy().astype('<f4').tofile('${dir}/y.bin')
`]);
    const model = createModel('resnet50');
    const state = loadStateDict(join(dir, 'r50.pth'));
    model.loadStateDict(state);
    dispose(state);
    model.eval();
    const buf = (f: string) => { const b = readFileSync(join(dir, f)); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
    const x = tensor(buf('x.bin').slice(), { shape: [2, 3, 224, 224] });
    const want = buf('y.bin');
    const got = noGrad(() => model.forward(x)).toFlatArray();
    assert.equal(got.length, 2000);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - want[i]!));
    assert.ok(maxDiff < 1e-4, `max |logit difference| = ${maxDiff}`);
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
