// Every binding group against PyTorch on the same inputs: forward values and gradients.
import test from 'node:test';
import { pyTorchSkip } from '../src/testing/pyref.js';
import { compareWithPyTorch, type Case } from './harness.js';
import { F, cat, stack, where, manualSeed, randn, rand, tensor, Tensor } from '../src/index.js';

const skip = pyTorchSkip();

manualSeed(1234);
const a = randn([3, 4]);
const b = randn([3, 4]);
const pos = rand([3, 4]).add(0.1);
const v = randn([4]);
const m = randn([4, 5]);
const bat = randn([2, 3, 4]);
const bat2 = randn([2, 4, 5]);
const idx = tensor([2, 0, 1], { dtype: 'int64' });
const idx2 = tensor([[0, 1, 3, 2], [1, 1, 0, 3], [3, 2, 2, 0]], { dtype: 'int64' });
const mask = a.gt(0);
const img = randn([2, 3, 8, 8]);
const convW = randn([4, 3, 3, 3]);
const convB = randn([4]);
const logits = randn([5, 7]);
const labels = tensor([0, 6, 3, 3, 1], { dtype: 'int64' });
const probs = rand([5, 7]).softmax(1);

test('elementwise arithmetic and math', { skip }, () => {
  const cases: Case[] = [
    { name: 'add', inputs: [a, b], ts: (x, y) => x!.add(y!, 2), py: 'torch.add(a, b, alpha=2)', grad: true },
    { name: 'add scalar', inputs: [a], ts: (x) => x!.add(1.5), py: 'a + 1.5', grad: true },
    { name: 'sub', inputs: [a, b], ts: (x, y) => x!.sub(y!), py: 'a - b', grad: true },
    { name: 'mul broadcast', inputs: [a, v], ts: (x, y) => x!.mul(y!), py: 'a * b', grad: true },
    { name: 'div', inputs: [a, pos], ts: (x, y) => x!.div(y!), py: 'a / b', grad: true },
    { name: 'div floor', inputs: [a, pos], ts: (x, y) => x!.div(y!, 'floor'), py: "torch.div(a, b, rounding_mode='floor')" },
    { name: 'pow scalar', inputs: [pos], ts: (x) => x!.pow(2.5), py: 'a ** 2.5', grad: true },
    { name: 'pow tensor', inputs: [pos, a], ts: (x, y) => x!.pow(y!), py: 'a ** b', grad: true },
    { name: 'neg abs', inputs: [a], ts: (x) => x!.neg().abs(), py: 'a.neg().abs()', grad: true },
    { name: 'sqrt rsqrt', inputs: [pos], ts: (x) => [x!.sqrt(), x!.rsqrt()], py: '(a.sqrt(), a.rsqrt())', grad: true },
    { name: 'exp log log2 log1p', inputs: [pos], ts: (x) => [x!.exp(), x!.log(), x!.log2(), x!.log1p()],
      py: '(a.exp(), a.log(), a.log2(), a.log1p())', grad: true },
    { name: 'sin cos tanh sigmoid erf', inputs: [a], ts: (x) => [x!.sin(), x!.cos(), x!.tanh(), x!.sigmoid(), x!.erf()],
      py: '(a.sin(), a.cos(), a.tanh(), a.sigmoid(), a.erf())', grad: true },
    { name: 'sign floor ceil round trunc', inputs: [a], ts: (x) => [x!.mul(3).sign(), x!.mul(3).floor(), x!.mul(3).ceil(), x!.mul(3).round(), x!.mul(3).trunc()],
      py: '((a*3).sign(), (a*3).floor(), (a*3).ceil(), (a*3).round(), (a*3).trunc())' },
    { name: 'reciprocal square', inputs: [pos], ts: (x) => [x!.reciprocal(), x!.square()], py: '(a.reciprocal(), a.square())', grad: true },
    { name: 'clamp', inputs: [a], ts: (x) => [x!.clamp(-0.5, 0.5), x!.clamp(null, 0.2), x!.clampMin(0)],
      py: '(a.clamp(-0.5, 0.5), a.clamp(max=0.2), a.clamp(min=0))', grad: true },
    { name: 'clamp tensor bounds', inputs: [a, b], ts: (x, y) => x!.clamp(y!.neg(), y!.abs()), py: 'torch.clamp(a, -b, b.abs())', grad: true },
    { name: 'maximum minimum', inputs: [a, b], ts: (x, y) => [x!.maximum(y!), x!.minimum(y!)], py: '(torch.maximum(a, b), torch.minimum(a, b))', grad: true },
    { name: 'remainder', inputs: [a], ts: (x) => x!.remainder(0.3), py: 'torch.remainder(a, 0.3)' },
    { name: 'matmul mm bmm t', inputs: [a, m, bat, bat2], ts: (x, y, z, w) => [x!.matmul(y!), x!.mm(y!), z!.bmm(w!), x!.t()],
      py: '(a @ b, a.mm(b), c.bmm(d), a.t())', grad: true, tol: 1e-4 },
    { name: 'dot outer', inputs: [v, v], ts: (x, y) => [x!.dot(y!), x!.outer(y!)], py: '(a.dot(b), torch.outer(a, b))', grad: true },
    { name: 'relu', inputs: [a], ts: (x) => x!.relu(), py: 'a.relu()', grad: true },
  ];
  compareWithPyTorch(cases);
});

test('comparisons and logic', { skip }, () => {
  compareWithPyTorch([
    { name: 'eq ne lt le gt ge', inputs: [a, b], ts: (x, y) => [x!.eq(y!), x!.ne(y!), x!.lt(y!), x!.le(y!), x!.gt(0), x!.ge(0.1)],
      py: '(a == b, a != b, a < b, a <= b, a > 0, a >= 0.1)' },
    { name: 'logical', inputs: [a, b], ts: (x, y) => [x!.gt(0).logicalAnd(y!.gt(0)), x!.gt(0).logicalOr(y!.gt(0)), x!.gt(0).logicalNot(), x!.gt(0).logicalXor(y!.gt(0))],
      py: '((a>0) & (b>0), (a>0) | (b>0), ~(a>0), (a>0) ^ (b>0))' },
    { name: 'isnan isfinite', inputs: [a], ts: (x) => [x!.log().isnan(), x!.div(0).isfinite(), x!.div(0).isinf()],
      py: '(a.log().isnan(), (a/0).isfinite(), (a/0).isinf())' },
    { name: 'any all', inputs: [a], ts: (x) => [x!.gt(0).any(), x!.gt(-5).all(), x!.gt(0).any(1), x!.gt(0).all(0)],
      py: '((a>0).any(), (a>-5).all(), (a>0).any(1), (a>0).all(0))' },
    { name: 'where', inputs: [a, b], ts: (x, y) => [where(x!.gt(0), x!, y!), where(x!.gt(0), x!, 0), where(x!.gt(0), 1, y!)],
      py: '(torch.where(a>0, a, b), torch.where(a>0, a, torch.tensor(0.)), torch.where(a>0, torch.tensor(1.), b))', grad: true },
  ]);
});

test('reductions with dims', { skip }, () => {
  compareWithPyTorch([
    { name: 'sum', inputs: [bat], ts: (x) => [x!.sum(), x!.sum(1), x!.sum([0, 2], true)], py: '(a.sum(), a.sum(1), a.sum((0, 2), keepdim=True))', grad: true },
    { name: 'mean', inputs: [bat], ts: (x) => [x!.mean(), x!.mean(-1), x!.mean([1], true)], py: '(a.mean(), a.mean(-1), a.mean(1, keepdim=True))', grad: true },
    { name: 'prod cumsum', inputs: [a], ts: (x) => [x!.prod(), x!.prod(1), x!.cumsum(1)], py: '(a.prod(), a.prod(1), a.cumsum(1))', grad: true },
    { name: 'max min', inputs: [a], ts: (x) => [x!.max(), x!.min(), x!.maxDim(1).values, x!.maxDim(1).indices, x!.minDim(0, true).values, x!.minDim(0, true).indices],
      py: '(a.max(), a.min(), a.max(1).values, a.max(1).indices, a.min(0, keepdim=True).values, a.min(0, keepdim=True).indices)', grad: true },
    { name: 'amax amin', inputs: [bat], ts: (x) => [x!.amax(1), x!.amin([1, 2])], py: '(a.amax(1), a.amin((1, 2)))', grad: true },
    { name: 'argmax argmin', inputs: [a], ts: (x) => [x!.argmax(), x!.argmax(1), x!.argmin(0, true)], py: '(a.argmax(), a.argmax(1), a.argmin(0, keepdim=True))' },
    { name: 'topk sort argsort', inputs: [a], ts: (x) => [x!.topk(2).values, x!.topk(2).indices, x!.topk(2, 0, false).values, x!.sort(1).values, x!.sort(1, true).indices, x!.argsort(0)],
      py: '(a.topk(2).values, a.topk(2).indices, a.topk(2, 0, largest=False).values, a.sort(1).values, a.sort(1, descending=True).indices, a.argsort(0))', grad: true },
    { name: 'norms', inputs: [bat], ts: (x) => [x!.norm(), x!.norm(1), x!.norm(Infinity), x!.norm(2, { dim: [1, 2] }), x!.norm(Infinity, { dim: 2, keepdim: true }), x!.norm(1, { dim: [1, 2] })],
      py: "(a.norm(), a.norm(1), a.norm(float('inf')), a.flatten(1).norm(2, dim=1), a.abs().amax(2, keepdim=True), a.flatten(1).norm(1, dim=1))", grad: true, tol: 1e-5 },
    { name: 'var std', inputs: [bat], ts: (x) => [x!.var(), x!.std(1), x!.var([1, 2], { correction: 0, keepdim: true })],
      py: '(a.var(), a.std(1), a.var((1, 2), unbiased=False, keepdim=True))', grad: true },
    { name: 'logsumexp softmax', inputs: [a], ts: (x) => [x!.logsumexp(1), x!.softmax(0), x!.logSoftmax(1)],
      py: '(a.logsumexp(1), a.softmax(0), a.log_softmax(1))', grad: true },
  ]);
});

test('shape operations', { skip }, () => {
  compareWithPyTorch([
    { name: 'view reshape', inputs: [bat], ts: (x) => [x!.view(6, 4), x!.reshape([4, -1]), x!.view([-1])], py: '(a.view(6, 4), a.reshape(4, -1), a.view(-1))', grad: true },
    { name: 'permute transpose flatten', inputs: [bat], ts: (x) => [x!.permute(2, 0, 1), x!.transpose(0, 2), x!.flatten(1), x!.flatten()],
      py: '(a.permute(2, 0, 1), a.transpose(0, 2), a.flatten(1), a.flatten())', grad: true },
    { name: 'squeeze unsqueeze expand repeat', inputs: [v], ts: (x) => [x!.unsqueeze(0), x!.unsqueeze(1).expand(4, 3), x!.view(1, 4, 1).squeeze(), x!.view(1, 4).squeeze(0), x!.repeat(2, 1)],
      py: '(a.unsqueeze(0), a.unsqueeze(1).expand(4, 3), a.view(1, 4, 1).squeeze(), a.view(1, 4).squeeze(0), a.repeat(2, 1))', grad: true },
    { name: 'cat stack', inputs: [a, b], ts: (x, y) => [cat([x!, y!], 1), stack([x!, y!]), stack([x!, y!], 2)],
      py: '(torch.cat([a, b], 1), torch.stack([a, b]), torch.stack([a, b], 2))', grad: true },
    { name: 'split chunk', inputs: [a], ts: (x) => [...x!.split(2, 1), ...x!.split([1, 2], 0), ...x!.chunk(2, 1)],
      py: '(*a.split(2, 1), *a.split([1, 2], 0), *a.chunk(2, 1))', grad: true },
    { name: 'narrow select slice', inputs: [a], ts: (x) => [x!.narrow(1, 1, 2), x!.select(0, 2), x!.slice(1, 1, null, 2), x!.slice(0, -2)],
      py: '(a.narrow(1, 1, 2), a.select(0, 2), a[:, 1::2], a[-2:])', grad: true },
    { name: 'index_select gather scatter', inputs: [a, idx, idx2], ts: (x, i, j) => [x!.indexSelect(0, i!), x!.gather(1, j!), x!.scatter(1, j!, 7), x!.scatter(1, j!.slice(1, 0, 1), x!.slice(1, 0, 1)), x!.scatterAdd(1, j!, x!)],
      py: '(a.index_select(0, b), a.gather(1, c), a.scatter(1, c, 7.), a.scatter(1, c[:, :1], a[:, :1]), a.scatter_add(1, c, a))', grad: true },
    { name: 'masked_fill masked_select', inputs: [a, mask], ts: (x, mk) => [x!.maskedFill(mk!, 0), x!.maskedSelect(mk!)], py: '(a.masked_fill(b, 0.), a.masked_select(b))', grad: true },
    { name: 'index', inputs: [a, idx], ts: (x, i) => [x!.index([i!]), x!.index([null, i!.slice(0, 0, 2)])], py: '(a[b], a[:, b[:2]])', grad: true },
    { name: 'flip roll', inputs: [a], ts: (x) => [x!.flip(1), x!.flip([0, 1]), x!.roll(1, 0)], py: '(a.flip(1), a.flip((0, 1)), a.roll(1, 0))', grad: true },
    { name: 'one_hot', inputs: [labels], ts: (x) => x!.oneHot(7), py: 'F.one_hot(a, 7)' },
    { name: 'to dtype', inputs: [a], ts: (x) => [x!.mul(10).long(), x!.double(), x!.gt(0).float(), x!.mul(10).int()], py: '((a*10).long(), a.double(), (a>0).float(), (a*10).int())' },
  ]);
});

test('neural-network functions', { skip }, () => {
  const rm = randn([4]);
  const rv = rand([4]).add(0.5);
  compareWithPyTorch([
    { name: 'conv2d', inputs: [img, convW, convB], ts: (x, w, bb) => [F.conv2d(x!, w!, bb!), F.conv2d(x!, w!, null, { stride: 2, padding: 1 }), F.conv2d(x!, w!, null, { dilation: 2, padding: [2, 1] }), F.conv2d(x!.slice(1, 0, 2), w!.slice(0, 0, 2).slice(1, 0, 1), null, { groups: 2 })],
      py: '(F.conv2d(a, b, c), F.conv2d(a, b, None, stride=2, padding=1), F.conv2d(a, b, None, dilation=2, padding=(2, 1)), F.conv2d(a[:, :2], b[:2, :1], None, groups=2))', grad: true, tol: 1e-4 },
    { name: 'linear', inputs: [a, m.t().contiguous(), randn([5])], ts: (x, w, bb) => F.linear(x!, w!, bb!), py: 'F.linear(a, b, c)', grad: true, tol: 1e-5 },
    { name: 'batch_norm eval', inputs: [img.narrow(1, 0, 3), rm.narrow(0, 0, 3), rv.narrow(0, 0, 3), randn([3]), randn([3])],
      ts: (x, mean, vr, w, bb) => F.batchNorm(x!, mean!, vr!, { weight: w!, bias: bb!, training: false }),
      py: 'F.batch_norm(a, b, c, d, e, training=False)', grad: true, constant: [1, 2], tol: 1e-5 },
    { name: 'group_norm layer_norm', inputs: [randn([2, 4, 3, 3]), randn([4]), randn([4])],
      ts: (x, w, bb) => [F.groupNorm(x!, 2, w!, bb!), F.layerNorm(x!, [3, 3])],
      py: '(F.group_norm(a, 2, b, c), F.layer_norm(a, (3, 3)))', grad: true, tol: 1e-5 },
    { name: 'pooling', inputs: [img], ts: (x) => [F.maxPool2d(x!, 2), F.maxPool2d(x!, 3, { stride: 2, padding: 1 }), F.avgPool2d(x!, 2), F.adaptiveAvgPool2d(x!, 1), F.adaptiveAvgPool2d(x!, [3, 2])],
      py: '(F.max_pool2d(a, 2), F.max_pool2d(a, 3, 2, 1), F.avg_pool2d(a, 2), F.adaptive_avg_pool2d(a, 1), F.adaptive_avg_pool2d(a, (3, 2)))', grad: true },
    { name: 'activations', inputs: [a], ts: (x) => [F.relu(x!), F.leakyRelu(x!, 0.2), F.softplus(x!), F.softplus(x!, 2, 1), F.gelu(x!), F.gelu(x!, 'tanh'), F.silu(x!), F.tanh(x!), F.sigmoid(x!)],
      py: "(F.relu(a), F.leaky_relu(a, 0.2), F.softplus(a), F.softplus(a, 2, 1), F.gelu(a), F.gelu(a, approximate='tanh'), F.silu(a), torch.tanh(a), torch.sigmoid(a))", grad: true },
    { name: 'softmax log_softmax', inputs: [logits], ts: (x) => [F.softmax(x!, 1), F.logSoftmax(x!, -1)], py: '(F.softmax(a, 1), F.log_softmax(a, -1))', grad: true },
    { name: 'cross_entropy', inputs: [logits, labels], ts: (x, y) => [F.crossEntropy(x!, y!), F.crossEntropy(x!, y!, { reduction: 'none' }), F.crossEntropy(x!, y!, { reduction: 'sum', labelSmoothing: 0.1 })],
      py: "(F.cross_entropy(a, b), F.cross_entropy(a, b, reduction='none'), F.cross_entropy(a, b, reduction='sum', label_smoothing=0.1))", grad: true },
    { name: 'cross_entropy soft targets', inputs: [logits, probs], ts: (x, p) => F.crossEntropy(x!, p!), py: 'F.cross_entropy(a, b)', grad: true },
    { name: 'nll', inputs: [logits, labels], ts: (x, y) => [F.nllLoss(x!.logSoftmax(1), y!), F.nllLoss(x!.logSoftmax(1), y!, { reduction: 'none' })],
      py: "(F.nll_loss(a.log_softmax(1), b), F.nll_loss(a.log_softmax(1), b, reduction='none'))", grad: true },
    { name: 'kl_div', inputs: [logits, probs], ts: (x, p) => [F.klDiv(x!.logSoftmax(1), p!, { reduction: 'batchmean' }), F.klDiv(x!.logSoftmax(1), p!, { reduction: 'sum' }), F.klDiv(x!.logSoftmax(1), p!.log(), { reduction: 'none', logTarget: true })],
      py: "(F.kl_div(a.log_softmax(1), b, reduction='batchmean'), F.kl_div(a.log_softmax(1), b, reduction='sum'), F.kl_div(a.log_softmax(1), b.log(), reduction='none', log_target=True))", grad: true },
    { name: 'mse l1', inputs: [a, b], ts: (x, y) => [F.mseLoss(x!, y!), F.mseLoss(x!, y!, { reduction: 'sum' }), F.l1Loss(x!, y!)],
      py: "(F.mse_loss(a, b), F.mse_loss(a, b, reduction='sum'), F.l1_loss(a, b))", grad: true },
    { name: 'binary cross-entropy', inputs: [pos.clamp(0.05, 0.95), rand([3, 4]), a], ts: (p, t, l) => [F.binaryCrossEntropy(p!, t!), F.binaryCrossEntropyWithLogits(l!, t!)],
      py: '(F.binary_cross_entropy(a, b), F.binary_cross_entropy_with_logits(c, b))', grad: true },
    { name: 'pad interpolate', inputs: [img], ts: (x) => [F.pad(x!, [1, 2, 0, 1]), F.pad(x!, [1, 1, 1, 1], 'reflect'), F.interpolate(x!, [5, 11]), F.interpolate(x!, [16, 16], 'nearest')],
      py: "(F.pad(a, (1, 2, 0, 1)), F.pad(a, (1, 1, 1, 1), mode='reflect'), F.interpolate(a, (5, 11), mode='bilinear', align_corners=False), F.interpolate(a, (16, 16), mode='nearest'))", grad: true },
  ]);
});

test('inputs survive the comparisons', () => {
  for (const t of [a, b, v, m, img] as Tensor[]) if (t.isDisposed) throw new Error('an input was disposed');
});
