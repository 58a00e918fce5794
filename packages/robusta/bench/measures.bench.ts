// Issue acceptance: every robustness measure of robusta (src/measures, 31 of them) on the MNIST tutorial
// CNN, side by side with the same definitions in plain PyTorch (bench/python/measures.py, which builds on
// the tests' reference attacks), in one run: seconds per measure and per family, ratio robusta/PyTorch
// (target ≤ 1), both values and whether they agree within the tolerance of the measure's PyTorch-oracle
// test, peak RSS per side. A study's measuring cost is (number of models) × the total.
//   node packages/robusta/dist/bench/measures.bench.js   (BENCH_MEASURES_N=1000 BENCH_REPEATS=1 BENCH_THREADS=2)
//
// The model: mnist-cnn seeded with 0 (its initial weights are the distance-from-init reference), trained
// here deterministically (1 epoch of standard training, then 1 epoch of AT with PGD-5 at ε 0.1, SGD lr
// 0.05 momentum 0.9, batch 50, on the first 5,000 training digits: neither at chance nor fully robust,
// 98 % clean and 86 % PGD-10 accuracy on the first 100 test images). Both sides load the same weights
// (robusta's io.saveTorchFile, PyTorch's torch.load).
// The examples: the measured split is settings.split 'train' (a study's default) with the first N MNIST
// *test* images passed as its source; the 'test' source (clean/PGD test accuracy and the gaps) is the
// next N test images. PGD-10, ε 0.1, α 0.025, random start, seed 0, batches of BENCH_MEASURES_BATCH (200).
// Timing: each side runs in a child process of its own (so its peak RSS is its own), the sides alternate
// (R P R P ...) BENCH_REPEATS times and the table shows medians. Within a run, as in computeMeasures, the
// first measure of a family pays for the family's shared work (robusta's ctx.memo; the same memo keys on
// the PyTorch side), and the first measure that needs the PGD examples of a split pays for them
// (clean-loss: train, clean-acc-test: test). The PGD examples alone are also timed once per side, apart.
// Each side also counts the images its model's forward pass sees per measure: a measure of work that,
// unlike seconds, the load of a shared machine cannot blur.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, manualSeed, setNumThreads, tidy } from '@robusta/torch';
import { data, defenses, io, measures, models, optim } from '../src/index.js';
import { MNIST_PY, peakRssMb, runPyTorch } from './common.js';

const N = Number(process.env.BENCH_MEASURES_N ?? 1000);
const BATCH = Number(process.env.BENCH_MEASURES_BATCH ?? 200);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 1);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const N_TRAIN = 5000;
const SETTINGS = { n: N, batchSize: BATCH, seed: 0, split: 'train' as const, attack: { norm: 'Linf' as const, eps: 0.1, alpha: 0.025, steps: 10 } };
const HERE = dirname(fileURLToPath(import.meta.url));
/** bench/python, from the source tree (the compiled bench is dist/bench). */
const PY_DIR = join(HERE, '..', '..', 'bench', 'python');

interface SideMeasure {
  name: string;
  family: string;
  value: number | null;
  perExample: (number | null)[] | null;
  seconds: number;
  /** Images that went through the model's forward pass during the measure (a count of work the machine's load cannot blur). */
  forwarded: number;
}
interface SideResult {
  measures: SideMeasure[];
  /** The shared PGD examples of both splits, computed alone. */
  pgdSeconds: number;
  totalSeconds: number;
  rss: number;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** The child process of the robusta side: loads the weights and the examples, times every measure. */
function robustaSide(dir: string): void {
  setNumThreads(THREADS);
  const model = models.createModel('mnist-cnn');
  model.loadStateDict(io.loadStateDict(join(dir, 'weights.pt')));
  model.eval();
  const initialState = io.loadStateDict(join(dir, 'init.pt'));
  const test = data.loadMnist('test');
  const source = { train: test.get(range(0, N)), test: test.get(range(N, 2 * N)) };
  const t0 = performance.now();
  const ctx = new measures.DefaultMeasureContext(model, source, measures.resolveSettings(SETTINGS));
  ctx.adversarial('train');
  ctx.adversarial('test');
  ctx.dispose();
  const pgdSeconds = (performance.now() - t0) / 1000;
  // Every caller (attacks, measures) goes through model.forward: count the images it sees per measure.
  let forwarded = 0;
  const forward = model.forward.bind(model);
  model.forward = (x) => {
    forwarded += x.shape[0]!;
    return forward(x);
  };
  const perMeasure: number[] = [];
  const report = measures.computeMeasures(model, source, {
    ...SETTINGS, measures: 'all', initialState,
    onProgress: (p) => {
      if (!p.done) forwarded = 0;
      else {
        perMeasure.push(forwarded);
        process.stderr.write(`  [robusta] ${p.name} ${p.seconds!.toFixed(2)} s\n`);
      }
    },
  });
  for (const m of report.measures) if (m.error) process.stderr.write(`  [robusta] ${m.name}: ${m.error}\n`);
  const out: SideResult = {
    measures: report.measures.map((m, i) => ({
      name: m.name, family: m.family, value: m.value, perExample: m.perExample ?? null, seconds: m.seconds, forwarded: perMeasure[i]!,
    })),
    pgdSeconds, totalSeconds: report.seconds, rss: peakRssMb(),
  };
  console.log(JSON.stringify(out)); // NaN becomes null, as on the PyTorch side
}

/** Trains the model deterministically; writes init.pt and weights.pt into dir. */
function trainModel(dir: string): number {
  const t0 = performance.now();
  manualSeed(0);
  const model = models.createModel('mnist-cnn');
  io.saveTorchFile(join(dir, 'init.pt'), model.stateDict());
  const trainSet = data.loadMnist('train');
  const loader = new data.DataLoader(trainSet, { batchSize: 50, shuffle: true, seed: 0, subset: N_TRAIN });
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const at = new defenses.AT({ eps: 0.1, alpha: 0.025, steps: 5 });
  for (const epoch of [0, 1]) {
    model.train();
    for (const batch of loader.epoch(epoch)) {
      tidy(() => {
        const x = epoch === 0 ? batch.x : at.generate(model, batch.x, batch.y);
        const loss = F.crossEntropy(model.forward(x), batch.y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
      batch.x.dispose();
      batch.y.dispose();
    }
  }
  model.eval();
  io.saveTorchFile(join(dir, 'weights.pt'), model.stateDict());
  model.dispose();
  return (performance.now() - t0) / 1000;
}

function runRobustaSide(dir: string): SideResult {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--robusta-side', dir], {
    encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ROBUSTA_NUM_THREADS: String(THREADS) },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as SideResult;
}

function pytorchScript(dir: string): string {
  const s = SETTINGS;
  return `${MNIST_PY}
import sys
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
torch.set_num_threads(${THREADS})
sys.path.insert(0, ${JSON.stringify(PY_DIR)})
import measures as robustness
model = mnist_cnn(); model.load_state_dict(torch.load(${JSON.stringify(join(dir, 'weights.pt'))})); model.eval()
initial = torch.load(${JSON.stringify(join(dir, 'init.pt'))})
x, y = mnist(${JSON.stringify(data.mnistDataDir())}, 'test')
data = {'train': (x[:${N}], y[:${N}]), 'test': (x[${N}:${2 * N}], y[${N}:${2 * N}])}
settings = {'n': ${s.n}, 'batch_size': ${s.batchSize}, 'seed': ${s.seed}, 'split': '${s.split}', 'eps': ${s.attack.eps}, 'alpha': ${s.attack.alpha}, 'steps': ${s.attack.steps}}
t0 = time.perf_counter()
ctx = robustness.Context(model, data, settings)
ctx.adversarial('train'); ctx.adversarial('test')
pgd_seconds = time.perf_counter() - t0
del ctx
t0 = time.perf_counter()
out = robustness.compute_measures(model, data, settings, initial,
    progress=lambda name, sec: print('  [PyTorch] %s %.2f s' % (name, sec), file=sys.stderr, flush=True))
total = time.perf_counter() - t0
print(json.dumps({'measures': out, 'pgdSeconds': pgd_seconds, 'totalSeconds': total,
                  'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, allow_nan=False))
`;
}

/**
 * Per-example (else value) agreement |robusta − PyTorch| ≤ atol + rtol·|PyTorch|: the tolerance of the
 * measure's PyTorch-oracle test in test/measures (accuracies and counts must agree exactly).
 */
function tolerance(name: string, family: string): [number, number] {
  const byName: Record<string, [number, number]> = {
    'clean-loss': [1e-5, 0], 'adv-loss': [1e-5, 0], 'path-norm': [0, 1e-5], 'param-count': [0, 0],
    'input-margin-l2': [1e-5, 1e-4], 'input-margin-linf': [1e-5, 2e-3], 'local-lipschitz': [1e-4, 1e-4], 'kl-clean-adv': [1e-5, 1e-4],
    'boundary-thickness': [1e-6, 1e-5],
  };
  const byFamily: Record<string, [number, number]> = {
    accuracy: [0, 0], 'weight-norm': [0, 1e-9], margin: [1e-5, 1e-5], smoothness: [1e-6, 1e-4], flatness: [1e-5, 0],
  };
  return byName[name] ?? byFamily[family] ?? [0, 0];
}

const close = (a: number | null, b: number | null, [atol, rtol]: [number, number]): boolean =>
  a === null || b === null ? a === b : Math.abs(a - b) <= atol + rtol * Math.abs(b) + 1e-12 * Math.abs(b);

/** 'yes', or how many examples (or the value) fall outside the tolerance. */
function agreement(r: SideMeasure, p: SideMeasure): string {
  const tol = tolerance(r.name, r.family);
  if (r.perExample && p.perExample) {
    if (r.perExample.length !== p.perExample.length) return `no (${r.perExample.length} vs ${p.perExample.length} values)`;
    const off = r.perExample.filter((v, i) => !close(v, p.perExample![i]!, tol)).length;
    return off === 0 ? 'yes' : `no (${off}/${r.perExample.length})`;
  }
  return close(r.value, p.value, tol) ? 'yes' : 'no';
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function formatValue(v: number | null): string {
  if (v === null || Number.isNaN(v)) return 'NaN';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(4) : Number(v.toPrecision(6)).toString();
}

const timeCells = (r: number, p: number): string => `${r.toFixed(2).padStart(10)}${p.toFixed(2).padStart(10)}${(r / p).toFixed(2).padStart(7)}`;
const forwardCells = (r: number, p: number): string => `${`${(r / 1000).toFixed(1)}k`.padStart(10)}${`${(p / 1000).toFixed(1)}k`.padStart(9)}`;

function printTable(rs: SideResult[], ps: SideResult[], trainSeconds: number): void {
  const names = rs[0]!.measures.map((m) => m.name);
  const pyNames = ps[0]!.measures.map((m) => m.name);
  if (names.join() !== pyNames.join()) throw new Error(`the two sides measure different lists:\n${names.join()}\n${pyNames.join()}`);
  const seconds = (side: SideResult[], i: number) => median(side.map((s) => s.measures[i]!.seconds));
  const last = (side: SideResult[]) => side[side.length - 1]!.measures;
  console.log(`measures on the MNIST tutorial CNN (trained here in ${trainSeconds.toFixed(0)} s): N = ${N} test images as the measured split, `
    + `batch ${BATCH}, PGD-10 ε 0.1 α 0.025, seed 0, ${THREADS} threads; seconds, median of ${REPEATS} alternating run(s) per side`);
  console.log(`${'measure'.padEnd(26)}${'robusta'.padStart(10)}${'PyTorch'.padStart(10)}${'ratio'.padStart(7)}${'fwd: rob.'.padStart(10)}${'PyT.'.padStart(9)}`
    + `${'robusta value'.padStart(15)}${'PyTorch value'.padStart(15)}  agree`);
  let family = '';
  let sums = [0, 0, 0, 0];
  const flush = () => {
    if (family) console.log(`${`  = ${family}`.padEnd(26)}${timeCells(sums[0]!, sums[1]!)}${forwardCells(sums[2]!, sums[3]!)}`);
  };
  names.forEach((name, i) => {
    const r = last(rs)[i]!;
    const p = last(ps)[i]!;
    if (r.family !== family) {
      flush();
      family = r.family;
      sums = [0, 0, 0, 0];
    }
    const row = [seconds(rs, i), seconds(ps, i), r.forwarded, p.forwarded];
    sums = sums.map((v, k) => v + row[k]!);
    console.log(`${name.padEnd(26)}${timeCells(row[0]!, row[1]!)}${forwardCells(row[2]!, row[3]!)}`
      + `${formatValue(r.value).padStart(15)}${formatValue(p.value).padStart(15)}  ${agreement(r, p)}`);
  });
  flush();
  const total = (side: SideResult[]) => median(side.map((s) => s.measures.reduce((a, m) => a + m.seconds, 0)));
  const forwardTotal = (side: SideResult[]) => last(side).reduce((a, m) => a + m.forwarded, 0);
  console.log(`${`all ${names.length} measures`.padEnd(26)}${timeCells(total(rs), total(ps))}${forwardCells(forwardTotal(rs), forwardTotal(ps))}`);
  console.log(`${'PGD examples alone (2×N)'.padEnd(26)}${timeCells(median(rs.map((s) => s.pgdSeconds)), median(ps.map((s) => s.pgdSeconds)))}`);
  const rss = (side: SideResult[]) => Math.max(...side.map((s) => s.rss));
  console.log(`${'peak RSS (MB)'.padEnd(26)}${rss(rs).toFixed(0).padStart(10)}${rss(ps).toFixed(0).padStart(10)}${(rss(rs) / rss(ps)).toFixed(2).padStart(7)}`);
  console.log('ratio = robusta / PyTorch (lower is better). fwd: images through the model\'s forward pass (with or without autograd) during the '
    + 'measure, a count of work the machine\'s load cannot blur. "= family": its measures summed (its first measure pays for the shared '
    + 'work; clean-loss and clean-acc-test also pay for the PGD examples of their split, timed alone in the row below the total). '
    + 'agree: per example within the tolerance of the measure\'s PyTorch-oracle test.');
}

function main(): void {
  setNumThreads(THREADS);
  if (!(Number.isInteger(N) && N >= 1 && 2 * N <= 10000)) throw new RangeError(`BENCH_MEASURES_N must be an integer in [1, 5000], got ${N}`);
  const dir = mkdtempSync(join(tmpdir(), 'robusta-bench-measures-'));
  try {
    const trainSeconds = trainModel(dir);
    const rs: SideResult[] = [];
    const ps: SideResult[] = [];
    for (let i = 0; i < REPEATS; i++) {
      rs.push(runRobustaSide(dir));
      ps.push(runPyTorch<SideResult>(pytorchScript(dir)));
    }
    printTable(rs, ps, trainSeconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--robusta-side') robustaSide(process.argv[3]!);
else main();
