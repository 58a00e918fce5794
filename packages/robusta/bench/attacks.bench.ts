// Attack speed, side by side with plain PyTorch on the same model, data and threads:
// PGD-10 on the small CIFAR CNN (batch 128), and FGSM / PGD-20 on the MNIST CNN over the 10k test set.
// Both sides do the same work: robusta's generate() (adversarial images only, like torchattacks'
// attack(x, y)) against the plain-PyTorch loop; run() would add the success and clean forward passes.
// Prints times, ratios and the peak RSS of each process.
//   node packages/robusta/dist/bench/attacks.bench.js   (BENCH_MNIST_N=10000)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, rand, randint, tidy } from '@robusta/torch';
import { attacks, data, io, models } from '../src/index.js';
import { MNIST_PY, peakRssMb, row, runPyTorch, sampleHeader, sampleRow, THREADS } from './common.js';

const N_MNIST = Number(process.env.BENCH_MNIST_N ?? 10000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'robusta-bench-'));

manualSeed(0);
const cifar = models.createModel('cifar-cnn');
cifar.eval();
io.saveTorchFile(join(dir, 'cifar.pt'), cifar.stateDict());
const xc = rand([128, 3, 32, 32]);
const yc = randint(0, 10, [128]);
io.saveTorchFile(join(dir, 'cifar-batch.pt'), new Map([['x', xc], ['y', yc]]));
const mnistModel = models.createModel('mnist-cnn');
mnistModel.eval();
io.saveTorchFile(join(dir, 'mnist.pt'), mnistModel.stateDict());
const test = data.loadMnist('test');

function time(fn: () => void, repeats = 1): number {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) tidy(fn);
  return (performance.now() - t0) / repeats / 1000;
}

const pgdCifar = new attacks.PGD(cifar, { eps: 8 / 255, alpha: 2 / 255, steps: 10, randomStart: false });
const { x: xm, y: ym } = test.get(Array.from({ length: N_MNIST }, (_, i) => i));
const batches = (fn: (x: typeof xm, y: typeof ym) => void) => () => {
  for (let i = 0; i < N_MNIST; i += 1000) tidy(() => fn(xm.narrow(0, i, Math.min(1000, N_MNIST - i)), ym.narrow(0, i, Math.min(1000, N_MNIST - i))));
};
const fgsm = new attacks.FGSM(mnistModel, { eps: 0.1 });
const pgd20 = new attacks.PGD(mnistModel, { eps: 0.1, alpha: 0.01, steps: 20, randomStart: false });
function robustaTimes(): { cifar: number; fgsm: number; pgd: number } {
  return {
    cifar: time(() => { pgdCifar.generate(xc, yc); }, 3),
    fgsm: time(batches((x, y) => { fgsm.generate(x, y); })),
    pgd: time(batches((x, y) => { pgd20.generate(x, y); })),
  };
}

const PY = `${MNIST_PY}
F = torch.nn.functional
def cifar_cnn():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4096, 256), nn.ReLU(), nn.Linear(256, 10))
def pgd(model, x, y, eps, alpha, steps):
    adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y)
        g, = torch.autograd.grad(loss, adv)
        adv = torch.min(torch.max(adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv
def fgsm(model, x, y, eps):
    x = x.clone().requires_grad_(True)
    g, = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * g.sign()).clamp(0, 1).detach()
def timeit(fn, repeats=1):
    fn(); t0 = time.perf_counter()
    for _ in range(repeats): fn()
    return (time.perf_counter() - t0) / repeats
d = ${JSON.stringify(dir)}
cifar = cifar_cnn(); cifar.load_state_dict(torch.load(d + '/cifar.pt')); cifar.eval()
b = torch.load(d + '/cifar-batch.pt'); xc, yc = b['x'], b['y']
t_cifar = timeit(lambda: pgd(cifar, xc, yc, 8/255, 2/255, 10), 3)
m = mnist_cnn(); m.load_state_dict(torch.load(d + '/mnist.pt')); m.eval()
xm, ym = mnist(${JSON.stringify(data.mnistDataDir())}, 'test'); xm, ym = xm[:${N_MNIST}], ym[:${N_MNIST}]
def over(fn):
    return lambda: [fn(xm[i:i + 1000], ym[i:i + 1000]) for i in range(0, len(xm), 1000)]
t_fgsm = timeit(over(lambda x, y: fgsm(m, x, y, 0.1)))
t_pgd = timeit(over(lambda x, y: pgd(m, x, y, 0.1, 0.01, 20)))
print(json.dumps({'cifar': t_cifar, 'fgsm': t_fgsm, 'pgd': t_pgd, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;
// The two sides alternate (R P R P ...); medians and spreads are printed: the machine's speed drifts.
type Times = { cifar: number; fgsm: number; pgd: number };
const rs: Times[] = [];
const ps: Times[] = [];
let pRss = 0;
for (let i = 0; i < REPEATS; i++) {
  rs.push(robustaTimes());
  const pi = runPyTorch<Times & { rss: number }>(PY);
  ps.push(pi);
  pRss = Math.max(pRss, pi.rss);
}
const rRss = peakRssMb();
const of = (xs: Times[], k: keyof Times) => xs.map((t) => t[k]);
console.log(sampleHeader(`attacks, ${THREADS} threads (times in seconds; same weights and inputs on both sides)`));
console.log(sampleRow('PGD-10, CIFAR CNN, batch 128', of(rs, 'cifar'), of(ps, 'cifar'), 3));
console.log(sampleRow(`FGSM, MNIST CNN, ${N_MNIST} images`, of(rs, 'fgsm'), of(ps, 'fgsm'), 3));
console.log(sampleRow(`PGD-20, MNIST CNN, ${N_MNIST} images`, of(rs, 'pgd'), of(ps, 'pgd'), 3));
console.log(row('peak RSS (MB)', rRss, pRss, 0));
console.log(`median of ${REPEATS} alternating runs per side (BENCH_REPEATS)`);
