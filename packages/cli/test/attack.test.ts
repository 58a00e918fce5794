// robusta attack against the same attacks written in plain PyTorch (torchvision's ResNet-18 with random
// weights, saved by torch.save; a PNG at the model's input size so that no resampling differs).
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

// The reference runs the tutorial's attack (SGD on δ, δ clamped to ±ε) and PGD (sign steps of ε/4 from
// x) in plain PyTorch on a random-weight ResNet-18 and a 64×64 image (--size 64: no resampling, and
// a softmax flat enough that a random net can be fooled). It prints, per run, the clean top-5 and the
// full probability vector after the attack.
const REFERENCE = `
import json, sys, torch, torchvision, numpy as np
from PIL import Image
d = sys.argv[1]
torch.set_num_threads(2)
torch.manual_seed(0)
model = torchvision.models.resnet18().eval()
torch.save(model.state_dict(), d + '/r18.pth')
rng = np.random.default_rng(1)
Image.fromarray((rng.random((64, 64, 3)) * 255).astype('uint8')).save(d + '/img.png')
x = torch.from_numpy(np.asarray(Image.open(d + '/img.png').convert('RGB'))).permute(2, 0, 1).float().div(255).unsqueeze(0)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
f = lambda z: model((z - mean) / std)
with torch.no_grad(): clean = f(x).softmax(1)[0]
y = clean.argmax().view(1)
eps = 2 / 255
def tutorial(target):
    delta = torch.zeros_like(x, requires_grad=True)
    opt = torch.optim.SGD([delta], lr=0.1)
    for _ in range(3):
        pred = f(x + delta)
        loss = -torch.nn.CrossEntropyLoss()(pred, y)
        if target is not None: loss = loss + torch.nn.CrossEntropyLoss()(pred, torch.LongTensor([target]))
        opt.zero_grad(); loss.backward(); opt.step()
        delta.data.clamp_(-eps, eps)
    return x + delta.detach()
def pgd():
    adv = x.clone()
    for _ in range(3):
        a = adv.detach().requires_grad_(True)
        g, = torch.autograd.grad(torch.nn.functional.cross_entropy(f(a), y), [a])
        adv = torch.min(torch.max(adv + eps / 4 * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv
target = int(clean.topk(2)[1][1])
out = {'clean': clean.topk(5)[1].tolist(), 'target': target}
for name, adv in [('untargeted', tutorial(None)), ('targeted', tutorial(target)), ('pgd', pgd())]:
    with torch.no_grad(): out[name] = f(adv).softmax(1)[0].tolist()
print(json.dumps(out))
`;

interface Reference { clean: number[]; target: number; untargeted: number[]; targeted: number[]; pgd: number[] }
interface Report { before: { index: number; probability: number }[]; after: { index: number; probability: number }[]; success: boolean; linf: number }

const argmax = (p: number[]): number => p.indexOf(Math.max(...p));

test('robusta attack: the tutorial attack (untargeted, targeted) and --method pgd on ResNet-18 give PyTorch\'s predictions, and they change', { skip, timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-attack-'));
  const ref = JSON.parse(execFileSync(pythonPath(), ['-c', REFERENCE, dir], { encoding: 'utf8' }).trim().split('\n').pop()!) as Reference;
  // PyTorch shows what the runs must show: the untargeted attacks move the top-1, the targeted one reaches its target.
  assert.notEqual(argmax(ref.untargeted), ref.clean[0], 'PyTorch: the untargeted tutorial attack does not change the top-1 here');
  assert.notEqual(argmax(ref.pgd), ref.clean[0], 'PyTorch: PGD does not change the top-1 here');
  assert.equal(argmax(ref.targeted), ref.target, 'PyTorch: the targeted attack does not reach its target here');
  const runs: [keyof Reference, string[]][] = [
    // PGD: α = ε/4 and the start at the image, given explicitly (the command's defaults may move).
    ['untargeted', []], ['targeted', ['--target', String(ref.target)]], ['pgd', ['--method', 'pgd', '--alpha', String(2 / 255 / 4)]],
  ];
  for (const [name, extra] of runs) {
    const out = join(dir, name);
    const r = spawnSync(process.execPath, [main, 'attack', '--model', 'resnet18', '--weights', join(dir, 'r18.pth'), '--image', join(dir, 'img.png'),
      '--size', '64', '--eps', '2/255', '--steps', '3', ...extra, '--out', out, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
    const probs = ref[name] as number[];
    assert.deepEqual(got.before.map((t) => t.index), ref.clean, `${name}: clean top-5`);
    assert.equal(got.after[0]!.index, argmax(probs), `${name}: top-1 after the attack`);
    got.after.forEach((t) => assert.ok(Math.abs(t.probability - probs[t.index]!) < 1e-4,
      `${name}: p(${t.index}) ${t.probability} vs PyTorch ${probs[t.index]}`));
    if (name === 'targeted') assert.equal(got.after[0]!.index, ref.target);
    else assert.notEqual(got.after[0]!.index, got.before[0]!.index, `${name}: the prediction did not change`);
    assert.equal(got.success, true);
    assert.ok(got.linf <= 2 / 255 + 1e-6 && got.linf > 1 / 255, `${name}: ‖δ‖∞ = ${got.linf}`);
    for (const f of ['original.png', 'perturbation.png', 'adversarial.png']) assert.ok(existsSync(join(out, f)), `${name}: ${f}`);
  }
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
