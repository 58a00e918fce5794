// Issue acceptance: adversarial training (AT, Madry et al.) of the MNIST tutorial CNN by robusta and by
// plain PyTorch with the same recipe, side by side: epoch time, ratio, clean and PGD-20 test accuracy.
// Recipe: ε = 0.1, PGD-5 (α 0.025, uniform random start, model in eval mode for the attack), SGD lr 0.01
// momentum 0.9, batch 100.   BENCH_TRAIN=30000 BENCH_EPOCHS=1 BENCH_REPEATS=3 (AT from scratch needs a few hundred
// steps before it leaves chance level: with 10,000 images both sides stay near 10 %).
import { manualSeed, noGrad, tidy, type Tensor } from '@robusta/torch';
import { attacks, data, defenses, models, optim } from '../src/index.js';
import { atEpoch, MNIST_PY, peakRssMb, row, runPyTorch, sampleHeader, sampleRow, THREADS } from './common.js';

const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 1);
const N_TRAIN = Number(process.env.BENCH_TRAIN ?? 30000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const N_TEST = 1000;
type Result = { epochSeconds: number; clean: number; pgd: number; rss?: number };

function robustaRun(): Result {
  manualSeed(0);
  const trainSet = data.loadMnist('train');
  const testSet = data.loadMnist('test');
  const model = models.createModel('mnist-cnn');
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const at = new defenses.AT({ eps: 0.1, alpha: 0.025, steps: 5 });
  const loader = new data.DataLoader(trainSet, { batchSize: 100, shuffle: true, seed: 0, subset: N_TRAIN });
  const times: number[] = [];
  for (let e = 0; e < EPOCHS; e++) {
    const t0 = performance.now();
    atEpoch(model, opt, at, loader, e);
    times.push((performance.now() - t0) / 1000);
  }
  model.eval();
  const { x, y } = testSet.get(Array.from({ length: N_TEST }, (_, i) => i));
  const accuracy = (imgs: Tensor) => noGrad(() => tidy(() => model.forward(imgs).argmax(1).eq(y).float().mean().item()));
  const clean = accuracy(x);
  const pgd = tidy(() => accuracy(new attacks.PGD(model, { eps: 0.1, alpha: 0.01, steps: 20, randomStart: false }).run(x, y).adv));
  return { epochSeconds: Math.min(...times), clean, pgd };
}

const PY = `${MNIST_PY}
F = torch.nn.functional
torch.manual_seed(0)
xtr, ytr = mnist(${JSON.stringify(data.mnistDataDir())}, 'train'); xte, yte = mnist(${JSON.stringify(data.mnistDataDir())}, 'test')
xtr, ytr, xte, yte = xtr[:${N_TRAIN}], ytr[:${N_TRAIN}], xte[:${N_TEST}], yte[:${N_TEST}]
model = mnist_cnn()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
def pgd(x, y, eps, alpha, steps, start):
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1) if start else x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        g, = torch.autograd.grad(F.cross_entropy(model(adv), y, reduction='sum'), adv)
        adv = torch.min(torch.max(adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv.detach()
times = []
for e in range(${EPOCHS}):
    t0 = time.perf_counter()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), 100):
        idx = perm[i:i + 100]; x, y = xtr[idx], ytr[idx]
        model.eval(); xa = pgd(x, y, 0.1, 0.025, 5, True); model.train()
        loss = F.cross_entropy(model(xa), y)
        opt.zero_grad(); loss.backward(); opt.step()
    times.append(time.perf_counter() - t0)
model.eval()
with torch.no_grad(): clean = (model(xte).argmax(1) == yte).float().mean().item()
xa = pgd(xte, yte, 0.1, 0.01, 20, False)
with torch.no_grad(): robust = (model(xa).argmax(1) == yte).float().mean().item()
print(json.dumps({'epochSeconds': min(times), 'clean': clean, 'pgd': robust, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

console.log(`AT on the MNIST tutorial CNN: ε 0.1, PGD-5 training, ${N_TRAIN} images, ${EPOCHS} epoch(s), ${THREADS} threads; PGD-20 test on ${N_TEST}`);
const rs: Result[] = [];
const ps: Result[] = [];
for (let i = 0; i < REPEATS; i++) {
  rs.push(robustaRun());
  ps.push(runPyTorch<Result>(PY));
}
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
console.log(sampleHeader(`median of ${REPEATS} alternating runs per side (BENCH_REPEATS)`));
console.log(sampleRow('epoch time (s)', rs.map((x) => x.epochSeconds), ps.map((x) => x.epochSeconds)));
console.log(row('clean test accuracy (%)', mean(rs.map((x) => x.clean)) * 100, mean(ps.map((x) => x.clean)) * 100));
console.log(row('PGD-20 test accuracy (%)', mean(rs.map((x) => x.pgd)) * 100, mean(ps.map((x) => x.pgd)) * 100));
console.log(row('peak RSS (MB)', peakRssMb(), Math.max(...ps.map((x) => x.rss ?? 0)), 0));
