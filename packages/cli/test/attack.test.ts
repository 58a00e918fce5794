// robusta attack against the same tutorial attack written in plain PyTorch (torchvision's ResNet-18
// with random weights, saved by torch.save; a 224×224 PNG so that no resampling differs).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pyTorchSkip, pythonPath } from '@robusta/torch/testing';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const skip = pyTorchSkip();

test('robusta attack: tutorial targeted attack on ResNet-18 matches PyTorch', { skip, timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-attack-'));
  const reference = execFileSync(pythonPath(), ['-c', `
import json, torch, torchvision, numpy as np
from PIL import Image
torch.set_num_threads(2)
torch.manual_seed(0)
model = torchvision.models.resnet18().eval()
torch.save(model.state_dict(), '${dir}/r18.pth')
rng = np.random.default_rng(1)
Image.fromarray((rng.random((224, 224, 3)) * 255).astype('uint8')).save('${dir}/img.png')
x = torch.from_numpy(np.asarray(Image.open('${dir}/img.png').convert('RGB'))).permute(2, 0, 1).float().div(255).unsqueeze(0)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
f = lambda z: model((z - mean) / std)
with torch.no_grad(): y = f(x).argmax(1)
delta = torch.zeros_like(x, requires_grad=True)
opt = torch.optim.SGD([delta], lr=0.1)
eps = 2 / 255
for t in range(3):
    pred = f(x + delta)
    loss = -torch.nn.CrossEntropyLoss()(pred, y) + torch.nn.CrossEntropyLoss()(pred, torch.LongTensor([404]))
    opt.zero_grad(); loss.backward(); opt.step()
    delta.data.clamp_(-eps, eps)
with torch.no_grad(): p = f(x + delta).softmax(1)[0]
v, i = p.topk(5)
print(json.dumps({'label': int(y), 'top': i.tolist(), 'prob': v.tolist()}))
`], { encoding: 'utf8' });
  const ref = JSON.parse(reference.trim().split('\n').pop()!);
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [main, 'attack', '--model', 'resnet18', '--weights', join(dir, 'r18.pth'), '--image', join(dir, 'img.png'),
    '--eps', '2/255', '--steps', '3', '--target', 'airliner', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(got.before[0].index, ref.label);
  assert.deepEqual(got.after.map((t: { index: number }) => t.index), ref.top);
  got.after.forEach((t: { probability: number }, k: number) => assert.ok(Math.abs(t.probability - ref.prob[k]) < 1e-3,
    `top-${k + 1} probability ${t.probability} vs PyTorch ${ref.prob[k]}`));
  assert.ok(got.linf <= 2 / 255 + 1e-6);
  for (const f of ['original.png', 'perturbation.png', 'adversarial.png']) assert.ok(existsSync(join(out, f)), f);
});

test('robusta attack: clear errors for bad input', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [main, 'attack', ...args], { encoding: 'utf8' });
  let r = run('--model', 'resnet18', '--image', '/nonexistent.jpg', '--random-weights');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nonexistent\.jpg/);
  r = run('--model', 'resnet18', '--image', 'x.jpg');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--weights FILE is required/);
  r = run('--model', 'nosuchnet', '--random-weights');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown model/);
  r = spawnSync(process.execPath, [main, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
});
