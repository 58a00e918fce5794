// Issue acceptance: the tutorial CNN trained on the embedded MNIST by robusta and by plain PyTorch with
// the same recipe (SGD lr 0.1, batch 100, shuffled), side by side: epoch time, ratio, test accuracy.
//   node packages/robusta/dist/bench/mnist-train.bench.js   (BENCH_EPOCHS=1, BENCH_TRAIN=60000)
import { F, manualSeed, noGrad, tidy } from '@robusta/torch';
import { data, models, optim } from '../src/index.js';
import { header, MNIST_PY, row, runPyTorch, THREADS } from './common.js';

const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 1);
const N_TRAIN = Number(process.env.BENCH_TRAIN ?? 60000);

function robustaRun(): { epochSeconds: number; testAccuracy: number } {
  manualSeed(0);
  const trainSet = data.loadMnist('train');
  const testSet = data.loadMnist('test');
  const model = models.createModel('mnist-cnn');
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  const loader = new data.DataLoader(trainSet, { batchSize: 100, shuffle: true, seed: 0, subset: N_TRAIN });
  const times: number[] = [];
  for (let e = 0; e < EPOCHS; e++) {
    const t0 = performance.now();
    model.train();
    for (const batch of loader.epoch(e)) {
      tidy(() => {
        const loss = F.crossEntropy(model.forward(batch.x), batch.y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
      batch.x.dispose();
      batch.y.dispose();
    }
    times.push((performance.now() - t0) / 1000);
  }
  model.eval();
  const testAccuracy = noGrad(() => tidy(() => {
    const { x, y } = testSet.get(Array.from({ length: testSet.length }, (_, i) => i));
    return model.forward(x).argmax(1).eq(y).float().mean().item();
  }));
  return { epochSeconds: times.reduce((a, b) => a + b) / times.length, testAccuracy };
}

const PY = `${MNIST_PY}
torch.manual_seed(0)
d = ${JSON.stringify(data.mnistDataDir())}
xtr, ytr = mnist(d, 'train'); xte, yte = mnist(d, 'test')
xtr, ytr = xtr[:${N_TRAIN}], ytr[:${N_TRAIN}]
model = mnist_cnn()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
times = []
for e in range(${EPOCHS}):
    t0 = time.perf_counter(); model.train()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), 100):
        idx = perm[i:i + 100]
        loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    times.append(time.perf_counter() - t0)
model.eval()
with torch.no_grad(): acc = (model(xte).argmax(1) == yte).float().mean().item()
print(json.dumps({'epochSeconds': sum(times) / len(times), 'testAccuracy': acc}))
`;

console.log(`MNIST tutorial CNN, SGD lr 0.1, batch 100, ${N_TRAIN} training images, ${EPOCHS} epoch(s), ${THREADS} threads`);
// The two sides alternate (R P R P ...): epoch time is the fastest run's, accuracy the mean.
const REPEATS = Number(process.env.BENCH_REPEATS ?? 2);
const rs: { epochSeconds: number; testAccuracy: number }[] = [];
const ps: { epochSeconds: number; testAccuracy: number }[] = [];
for (let i = 0; i < REPEATS; i++) {
  rs.push(robustaRun());
  ps.push(runPyTorch<{ epochSeconds: number; testAccuracy: number }>(PY));
}
const summarize = (xs: { epochSeconds: number; testAccuracy: number }[]) => ({
  epochSeconds: Math.min(...xs.map((x) => x.epochSeconds)), testAccuracy: xs.reduce((a, x) => a + x.testAccuracy, 0) / xs.length,
});
const r = summarize(rs);
const p = summarize(ps);
console.log(header(''));
console.log(row('epoch time (s)', r.epochSeconds, p.epochSeconds));
console.log(row('test accuracy (%)', r.testAccuracy * 100, p.testAccuracy * 100));
console.log(`epoch time: fastest of ${REPEATS} alternating runs per side; accuracy: their mean (BENCH_REPEATS)`);
