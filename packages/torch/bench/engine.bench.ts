// Engine benchmark: robusta vs plain PyTorch (Debian python3-torch, the same libtorch), side by side
// in one run, same threads: one PGD step and one training step of the small CIFAR CNN (batch 128),
// and the per-op overhead of a tiny op. Prints times and ratios (robusta / PyTorch).
//   npm run bench            (ROBUSTA_BENCH_ITERS=N to change the number of timed steps)
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { autograd, F, getNumThreads, manualSeed, noGrad, randint, randn, rand, tensor, tidy, Tensor, zerosLike } from '../src/index.js';
import { pythonPath } from '../src/testing/pyref.js';

const ITERS = Number(process.env.ROBUSTA_BENCH_ITERS ?? 10);
const THREADS = getNumThreads();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// The small CIFAR CNN: conv3→32, conv32→32, pool, conv32→64, conv64→64, pool, fc4096→256, fc256→10.
function makeParams(): Tensor[] {
  manualSeed(0);
  const shapes = [[32, 3, 3, 3], [32], [32, 32, 3, 3], [32], [64, 32, 3, 3], [64], [64, 64, 3, 3], [64], [256, 4096], [256], [10, 256], [10]];
  return shapes.map((s) => randn(s).mul(0.05).requiresGrad_());
}
function forward(p: Tensor[], x: Tensor): Tensor {
  let h = F.relu(F.conv2d(x, p[0]!, p[1]!, { padding: 1 }));
  h = F.relu(F.conv2d(h, p[2]!, p[3]!, { padding: 1 }));
  h = F.maxPool2d(h, 2);
  h = F.relu(F.conv2d(h, p[4]!, p[5]!, { padding: 1 }));
  h = F.relu(F.conv2d(h, p[6]!, p[7]!, { padding: 1 }));
  h = F.maxPool2d(h, 2).flatten(1);
  h = F.relu(F.linear(h, p[8]!, p[9]!));
  return F.linear(h, p[10]!, p[11]!);
}

function robustaJobs(): Record<'pgd_step_ms' | 'train_step_ms' | 'tiny_op_us', () => number> {
  const params = makeParams();
  const x = rand([128, 3, 32, 32]);
  const y = randint(0, 10, [128]);
  let delta = zerosLike(x);
  const pgdStep = () => {
    const next = tidy(() => {
      const d = delta.detach().requiresGrad_(true);
      const loss = F.crossEntropy(forward(params, x.add(d)), y);
      const [g] = autograd.grad(loss, d, { allowUnused: false });
      return d.detach().add(g!.sign(), 2 / 255).clamp(-8 / 255, 8 / 255);
    });
    delta.dispose();
    delta = next;
  };
  const momenta = params.map((p) => zerosLike(p));
  const trainStep = () => tidy(() => {
    const loss = F.crossEntropy(forward(params, x), y);
    const grads = autograd.grad(loss, params);
    noGrad(() => {
      params.forEach((p, i) => {
        const g = grads[i]!.add(p, 5e-4);
        momenta[i]!.mul_(0.9).add_(g);
        p.sub_(momenta[i]!, 0.01);
      });
    });
  });
  const once = (fn: () => void) => () => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  const a = tensor([1, 2, 3, 4]);
  const tinyOp = () => {
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) a.add(a).dispose();
    return ((performance.now() - t0) / 100_000) * 1000;
  };
  return { pgd_step_ms: once(pgdStep), train_step_ms: once(trainStep), tiny_op_us: tinyOp };
}

// The PyTorch half runs in a persistent worker that times one measurement per request, so that the two
// sides alternate (A B A B ...) and drift in the machine's speed hits both alike.
const PY = `
import json, time, torch, torch.nn.functional as F, sys
torch.set_num_threads(${THREADS})
torch.manual_seed(0)
shapes = [[32,3,3,3],[32],[32,32,3,3],[32],[64,32,3,3],[64],[64,64,3,3],[64],[256,4096],[256],[10,256],[10]]
p = [(torch.randn(s) * 0.05).requires_grad_() for s in shapes]
def forward(x):
    h = F.relu(F.conv2d(x, p[0], p[1], padding=1)); h = F.relu(F.conv2d(h, p[2], p[3], padding=1)); h = F.max_pool2d(h, 2)
    h = F.relu(F.conv2d(h, p[4], p[5], padding=1)); h = F.relu(F.conv2d(h, p[6], p[7], padding=1)); h = F.max_pool2d(h, 2).flatten(1)
    h = F.relu(F.linear(h, p[8], p[9])); return F.linear(h, p[10], p[11])
x = torch.rand(128, 3, 32, 32); y = torch.randint(0, 10, (128,))
delta = torch.zeros_like(x)
def pgd_step():
    global delta
    d = delta.detach().requires_grad_(True)
    loss = F.cross_entropy(forward(x + d), y)
    g, = torch.autograd.grad(loss, d)
    delta = (d.detach() + 2/255 * g.sign()).clamp(-8/255, 8/255)
mom = [torch.zeros_like(q) for q in p]
def train_step():
    loss = F.cross_entropy(forward(x), y)
    gs = torch.autograd.grad(loss, p)
    with torch.no_grad():
        for q, g, m in zip(p, gs, mom):
            g = g.add(q, alpha=5e-4); m.mul_(0.9).add_(g); q.sub_(m, alpha=0.01)
a = torch.tensor([1., 2., 3., 4.])
def tiny():
    for _ in range(100000): a + a
jobs = {'pgd_step_ms': (pgd_step, 1e3), 'train_step_ms': (train_step, 1e3), 'tiny_op_us': (tiny, 1e6 / 100000)}
for line in sys.stdin:
    fn, scale = jobs[line.strip()]
    t0 = time.perf_counter(); fn(); dt = time.perf_counter() - t0
    print(json.dumps(dt * scale), flush=True)
`;

// robusta's addon tunes glibc malloc at load (engine-facts.md); PyTorch runs with the same settings
// through glibc's environment tunables, and once more with glibc's defaults.
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), MALLOC_TOP_PAD_: String(64 * 1024 * 1024) };

/** A PyTorch process answering one timing per line written to it. */
class PyWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered = '';
  private waiting: ((v: number) => void)[] = [];
  constructor(tuned: boolean) {
    this.child = spawn(pythonPath(), ['-c', PY], { env: { ...process.env, ...(tuned ? MALLOC_ENV : {}) } });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(Number(JSON.parse(line)));
      }
    });
  }
  time(job: string): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${job}\n`);
    });
  }
  close(): void {
    this.child.stdin.end();
  }
}

type Key = 'pgd_step_ms' | 'train_step_ms' | 'tiny_op_us';
const KEYS: Key[] = ['pgd_step_ms', 'train_step_ms', 'tiny_op_us'];
console.log(`engine benchmark: small CIFAR CNN, batch 128, ${THREADS} threads, median of ${ITERS} interleaved runs`);
const ours = robustaJobs();
const tuned = new PyWorker(true);
const plain = new PyWorker(false);
const samples: Record<string, Record<Key, number[]>> = { robusta: { pgd_step_ms: [], train_step_ms: [], tiny_op_us: [] }, tuned: { pgd_step_ms: [], train_step_ms: [], tiny_op_us: [] }, plain: { pgd_step_ms: [], train_step_ms: [], tiny_op_us: [] } };
for (const key of KEYS) {
  const reps = key === 'tiny_op_us' ? Math.max(3, Math.ceil(ITERS / 3)) : ITERS;
  ours[key]();
  await tuned.time(key);
  await plain.time(key);
  for (let i = 0; i < reps; i++) {
    samples.robusta![key].push(ours[key]());
    samples.tuned![key].push(await tuned.time(key));
    samples.plain![key].push(await plain.time(key));
  }
}
tuned.close();
plain.close();
const rows: [string, Key][] = [['PGD step (ms)', 'pgd_step_ms'], ['training step (ms)', 'train_step_ms'], ['tiny op: 4-element add (µs)', 'tiny_op_us']];
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
console.log(`${'measure'.padEnd(30)}${'robusta'.padStart(10)}${'PyTorch'.padStart(10)}${'ratio'.padStart(8)}${'PyTorch*'.padStart(10)}${'ratio*'.padStart(8)}   spread (min–max): robusta | PyTorch`);
for (const [label, key] of rows) {
  const r = median(samples.robusta![key]);
  const pt = median(samples.tuned![key]);
  const pd = median(samples.plain![key]);
  console.log(`${label.padEnd(30)}${r.toFixed(2).padStart(10)}${pt.toFixed(2).padStart(10)}${(r / pt).toFixed(2).padStart(8)}${pd.toFixed(2).padStart(10)}${(r / pd).toFixed(2).padStart(8)}   ${range(samples.robusta![key])} | ${range(samples.tuned![key])}`);
}
console.log('PyTorch: same malloc tuning as robusta; PyTorch*: glibc defaults. ratio = robusta / PyTorch (lower is better).');
