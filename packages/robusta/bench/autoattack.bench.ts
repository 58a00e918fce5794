// Standard AutoAttack side by side: robusta's attacks.AutoAttack and the plain-PyTorch port of the official
// algorithm that the tests check it against (test/attacks/python/reference.py: autoattack), on the same
// weights, images, seeds and threads. The model is the MNIST tutorial CNN made robust-ish by a short AT
// run in robusta (ε 0.1, PGD-5 α 0.025 as at-train.bench.ts, but Adam lr 1e-3, batch 100,
// one epoch, seed 0), cached in the temp dir under a name that holds the recipe, so reruns skip training
// (training runs in a child process, so it does not count in robusta's peak RSS).
// AutoAttack: L∞, ε 0.1 (the usual MNIST setting), APGD-CE → APGD-T → FAB-T → Square with the defaults
// (100 steps, 9 target classes, 5000 Square queries), seed 0, on the first BENCH_AA_N test images in one batch.
// The sides alternate (R P R P ...); printed: median and min–max seconds per side, the ratio of medians,
// median seconds and robust counts per stage, peak RSS, and how many examples are robust in one pipeline
// and fooled in the other (expected 0: autoattack.test.ts checks the pipelines agree per example).
//   node packages/robusta/dist/bench/autoattack.bench.js   (BENCH_AA_N=32 BENCH_REPEATS=3 BENCH_AA_TRAIN=20000;
//   about 75 s per side and run at N = 32 on 2 cores: every stage works on ~29 robust points)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads, libtorchVersion, manualSeed, noGrad, tidy } from '@robusta/torch';
import { attacks, data, defenses, io, models, optim } from '../src/index.js';
import { atEpoch, header, median, MNIST_PY, peakRssMb, row, runPyTorch, spread, textRow, THREADS } from './common.js';

const N = Number(process.env.BENCH_AA_N ?? 32);
const N_TRAIN = Number(process.env.BENCH_AA_TRAIN ?? 20000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const EPS = 0.1;
const STAGES = ['APGD-CE', 'APGDT', 'FAB-T', 'Square'];

// ---- the model: AT-trained weights, cached by recipe -----------------------------------------------

// Adam: SGD at lr 0.01 leaves this CNN near chance after one AT epoch; Adam at 1e-3 reaches ~95 % clean.
const RECIPE = { model: 'mnist-cnn', eps: 0.1, alpha: 0.025, steps: 5, optimizer: 'adam', lr: 1e-3, batch: 100, train: N_TRAIN, epochs: 1, seed: 0 };
const recipeHash = createHash('sha256').update(JSON.stringify({ RECIPE, libtorch: libtorchVersion(), threads: getNumThreads() })).digest('hex').slice(0, 8);
const WEIGHTS = join(tmpdir(), 'robusta-bench', `aa-mnist-cnn-at-eps0.1-pgd5-adam0.001-b100-n${N_TRAIN}-e1-s0-${recipeHash}.pt`);

/** AT as at-train.bench.ts does it; writes the state dict to WEIGHTS (under a private name, then renamed). */
function trainAndSave(): void {
  manualSeed(RECIPE.seed);
  const model = models.createModel('mnist-cnn');
  const opt = new optim.Adam(model.parameters(), { lr: RECIPE.lr });
  const at = new defenses.AT({ eps: RECIPE.eps, alpha: RECIPE.alpha, steps: RECIPE.steps });
  const loader = new data.DataLoader(data.loadMnist('train'), { batchSize: RECIPE.batch, shuffle: true, seed: RECIPE.seed, subset: N_TRAIN });
  const t0 = performance.now();
  atEpoch(model, opt, at, loader, 0);
  mkdirSync(dirname(WEIGHTS), { recursive: true });
  const tmp = `${WEIGHTS}.${process.pid}.tmp`;
  tidy(() => io.saveTorchFile(tmp, model.stateDict()));
  renameSync(tmp, WEIGHTS);
  console.log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${WEIGHTS}`);
}

if (process.env.BENCH_AA_TRAIN_ONLY === '1') {
  trainAndSave();
  process.exit(0);
}
if (!existsSync(WEIGHTS)) {
  console.log(`training the AT model (${N_TRAIN} images, one epoch) in a child process`);
  execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, BENCH_AA_TRAIN_ONLY: '1' } });
}

const model = models.createModel('mnist-cnn');
tidy(() => { model.loadStateDict(io.loadStateDict(WEIGHTS)); });
model.eval();
const { x, y } = data.loadMnist('test').get(Array.from({ length: N }, (_, i) => i));
const clean = noGrad(() => tidy(() => model.forward(x).argmax(1).eq(y).sum().item()));

// ---- the two sides ----------------------------------------------------------------------------------

type Run = { seconds: number; stageSeconds: Record<string, number>; stages: number[]; robust: number[]; rss: number };

function robustaRun(): Run {
  return tidy(() => {
    const aa = new attacks.AutoAttack(model, { eps: EPS });
    const t0 = performance.now();
    const r = aa.run(x, y);
    const seconds = (performance.now() - t0) / 1000;
    const robust = r.success.logicalNot().toFlatArray().map((v) => Number(v));
    const stageSeconds = Object.fromEntries(r.stages!.map((s) => [s.attack, s.seconds]));
    return { seconds, stageSeconds, stages: r.stages!.map((s) => s.robust), robust, rss: peakRssMb() };
  });
}

// reference.py from the source tree, as referencePrelude() in test/attacks/helpers.ts finds it (that
// module is not imported: it sets one intra-op thread at load). Compiled, this file is in dist/bench.
const here = dirname(fileURLToPath(import.meta.url));
const REFERENCE = [join(here, '..', '..', 'test', 'attacks', 'python', 'reference.py'), join(here, '..', 'test', 'attacks', 'python', 'reference.py')]
  .find((p) => existsSync(p));
if (!REFERENCE) throw new Error(`test/attacks/python/reference.py not found near ${here}`);
// bench/python (box_projection.py) in the source tree, next to dist/.
const PY_DIR = join(here, '..', '..', 'bench', 'python');

const PY = `${MNIST_PY}
exec(compile(open(${JSON.stringify(REFERENCE)}).read(), ${JSON.stringify(REFERENCE)}, 'exec'))
# FAB projects as robusta and the official code do, by sorting (box_projection.py), not by the reference's
# bisection: fab_single looks the name up in these globals.
import sys
sys.path.insert(0, ${JSON.stringify(PY_DIR)})
from box_projection import exact_box_projection as box_hyperplane_projection
# Time each component: autoattack() looks them up by name when it calls them.
STAGE_SECONDS = {}
def timed(name, fn):
    def run(*a, **k):
        t0 = time.perf_counter(); out = fn(*a, **k)
        STAGE_SECONDS[name] = STAGE_SECONDS.get(name, 0.0) + time.perf_counter() - t0
        return out
    return run
apgd, apgdt, fab, square_linf = timed('APGD-CE', apgd), timed('APGDT', apgdt), timed('FAB-T', fab), timed('Square', square_linf)
model = mnist_cnn(); model.load_state_dict(torch.load(${JSON.stringify(WEIGHTS)})); model.eval()
x, y = mnist(${JSON.stringify(data.mnistDataDir())}, 'test'); x, y = x[:${N}], y[:${N}]
t0 = time.perf_counter()
robust, adv, stages = autoattack(model, x, y, ${EPS}, 'Linf', 100, 9, 5000, seed=0, version='standard')
seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'stageSeconds': STAGE_SECONDS, 'stages': stages, 'robust': robust.int().tolist(),
                  'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

console.log(`standard AutoAttack, L∞ ε ${EPS}, MNIST tutorial CNN (AT ε 0.1 PGD-5, ${N_TRAIN} images, 1 epoch), ${N} test images in one batch, ${THREADS} threads; clean ${clean}/${N}`);
const rs: Run[] = [];
const ps: Run[] = [];
for (let i = 0; i < REPEATS; i++) {
  rs.push(robustaRun());
  ps.push(runPyTorch<Run>(PY));
}

const secs = (runs: Run[]) => runs.map((r) => r.seconds);
const digits = (xs: number[]) => (Math.max(...xs) >= 10 ? 1 : 2);
const rMed = median(secs(rs));
const pMed = median(secs(ps));
console.log(header(`times in seconds: median of ${REPEATS} alternating runs per side (BENCH_REPEATS)`));
console.log(row('AutoAttack total', rMed, pMed));
console.log(textRow('  spread (min–max)', spread(secs(rs), digits(secs(rs))), spread(secs(ps), digits(secs(ps)))));
// Also without FAB-T: the line earlier runs reported when the reference's FAB still bisected.
const withoutFab = (runs: Run[]) => runs.map((r) => r.seconds - (r.stageSeconds['FAB-T'] ?? 0));
console.log(row('AutoAttack without FAB-T', median(withoutFab(rs)), median(withoutFab(ps))));
for (const s of STAGES) {
  const stageMedian = (runs: Run[]) => median(runs.map((r) => r.stageSeconds[s] ?? 0));
  console.log(row(`  ${s}`, stageMedian(rs), stageMedian(ps)));
}
const counts = (r: Run) => r.stages.join(' → ');
const varies = (runs: Run[]) => (runs.every((r) => counts(r) === counts(runs[0]!)) ? '' : ' (varies between runs!)');
console.log(`robust after each stage: robusta ${counts(rs[0]!)}${varies(rs)}   PyTorch ${counts(ps[0]!)}${varies(ps)}`);
console.log(row('peak RSS (MB)', Math.max(...rs.map((r) => r.rss)), Math.max(...ps.map((r) => r.rss)), 0));
const differ = rs[0]!.robust.flatMap((v, i) => (v !== ps[0]!.robust[i] ? [i] : []));
console.log(`robust accuracy: robusta ${rs[0]!.stages.at(-1)}/${N}, PyTorch ${ps[0]!.stages.at(-1)}/${N}; examples robust in one pipeline and fooled in the other: ${differ.length}${differ.length ? ` (${differ.slice(0, 20).join(', ')})` : ''}`);
