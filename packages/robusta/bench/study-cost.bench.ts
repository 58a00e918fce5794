// What one model of the paper's CIFAR-10 grid costs on this machine: seconds per PGD-10 adversarial
// training step of PreActResNet-18 (batch 128, ε 8/255, α 2/255, SGD 0.1/0.9/5e-4, MAIR's recipe) and
// seconds for the measures on 100 CIFAR-shaped examples; extrapolated to 200 epochs of 50,000 images
// (391 steps each), measures on 1,000 examples at two checkpoints, and the paper's 1,300 models.
// Runs on the CPU, or on a GPU with a CUDA libtorch (ROBUSTA_DEVICE=cuda). Random images stand in for
// CIFAR-10 (not downloadable on the machines robusta is developed on): the cost does not depend on pixels.
import * as torch from '@robusta/torch';
import { tidy } from '@robusta/torch';
import { AT } from '../src/defenses/at.js';
import { computeMeasures, selectMeasures } from '../src/measures/index.js';
import { createModel } from '../src/models/registry.js';
import { SGD } from '../src/optim/sgd.js';

const device = (process.env.ROBUSTA_DEVICE ?? 'cpu') as torch.Device;
const steps = Number(process.env.BENCH_COST_STEPS ?? 3);
const measureN = Number(process.env.BENCH_COST_MEASURE_N ?? 100);
const skip = (process.env.BENCH_COST_SKIP ?? 'input-margin-linf').split(',').filter(Boolean);

torch.manualSeed(0);
const model = createModel('preact-resnet18', { normalize: 'cifar10' }).to(device);
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
const at = new AT({ eps: 8 / 255, alpha: 2 / 255, steps: 10 });
const x = torch.rand([128, 3, 32, 32], { device });
const y = torch.randint(0, 10, [128], { device });

const stepSeconds: number[] = [];
model.train();
for (let s = 0; s <= steps; s++) {
  const t0 = performance.now();
  tidy(() => {
    optimizer.zeroGrad();
    const loss = at.compute(model, x, y).loss;
    loss.backward();
    optimizer.step();
    loss.item(); // waits for the device
  });
  if (s > 0) stepSeconds.push((performance.now() - t0) / 1000); // the first step warms up
}
const step = stepSeconds.sort((a, b) => a - b)[Math.floor(stepSeconds.length / 2)]!;

model.eval();
const mx = torch.rand([measureN, 3, 32, 32], { device });
const my = torch.randint(0, 10, [measureN], { device });
const names = selectMeasures('all').map((m) => m.name).filter((n) => !skip.includes(n));
const report = computeMeasures(model, { train: { x: mx, y: my }, test: { x: mx, y: my } }, {
  measures: names, n: measureN, batchSize: Math.min(measureN, 100), attack: { eps: 8 / 255, steps: 10 },
});
const measureSeconds = report.seconds * (1000 / measureN);
const trainSeconds = step * 391 * 200;
const perModel = trainSeconds + 2 * measureSeconds;
const days = (s: number) => (s / 86400).toFixed(1);
console.log(`study cost, PreActResNet-18 on CIFAR-10-shaped data, ${device}, ${torch.getNumThreads()} threads`);
console.log(`PGD-10 AT step, batch 128 (median of ${steps})       ${step.toFixed(2)} s`);
console.log(`measures on ${measureN} examples (${names.length} measures${skip.length ? `, without ${skip.join(', ')}` : ''})  ${report.seconds.toFixed(1)} s`);
for (const m of [...report.measures].sort((a, b) => b.seconds - a.seconds).slice(0, 6)) console.log(`  ${m.name.padEnd(24)} ${m.seconds.toFixed(1)} s`);
console.log(`one model: 200 epochs × 391 steps = ${days(trainSeconds)} days, measures on 1,000 examples × 2 checkpoints = ${(2 * measureSeconds / 3600).toFixed(1)} h`);
console.log(`the paper's 1,300 models: ${(perModel * 1300 / 86400 / 365).toFixed(1)} years on one such ${device === 'cpu' ? 'CPU' : 'GPU'}`);
