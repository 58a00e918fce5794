// Memory you can reason about: a 10,000-step attack-like loop keeps RSS flat with tidy(), and stays
// bounded without it (the GC safety net: external-memory accounting + finalizers).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dispose, keep, memoryStats, release, tensorsNotDisposed, ones, randn, scopeDepth, tidy, zeros, Tensor } from '../src/index.js';

const indexUrl = new URL('../src/index.js', import.meta.url).href;

/** Runs an ES module script in a fresh Node (with global.gc) and parses the last line it prints. */
function runScript(script: string): unknown {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// An attack step on a 64×3×32×32 batch: forward through a linear map, backward to the input, sign step, projection.
const LOOP = (useTidy: boolean, steps: number) => `
import { randn, zeros, tidy, memoryStats, autograd } from '${indexUrl}';
const x = randn([64, 3 * 32 * 32]);
const w = randn([3 * 32 * 32, 10]).mul(0.01);
let delta = zeros([64, 3 * 32 * 32]);
const rss = [];
for (let i = 0; i < ${steps}; i++) {
  const step = () => {
    const d = delta.detach().requiresGrad_(true);
    const loss = x.add(d).matmul(w).logSoftmax(1).select(1, 0).sum();
    const [g] = autograd.grad(loss, d);
    return d.add(g.sign(), 0.001).clamp(-0.03, 0.03).detach();
  };
  const next = ${useTidy ? 'tidy(step)' : 'step()'};
  ${useTidy ? 'delta.dispose();' : ''}
  delta = next;
  if (i % 1000 === 999) rss.push(process.memoryUsage().rss);
}
console.log(JSON.stringify({ rss, stats: memoryStats() }));
`;

function runLoop(useTidy: boolean, steps: number): { rss: number[]; stats: { liveTensors: number } } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', LOOP(useTidy, steps)], { encoding: 'utf8', env: { ...process.env, ROBUSTA_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('10,000 attack-like steps under tidy(): RSS stays flat within 10 %', () => {
  const { rss, stats } = runLoop(true, 10_000);
  const base = rss[1]!; // after warm-up (allocator pools filled)
  const last = rss[rss.length - 1]!;
  assert.ok(last <= base * 1.1, `RSS grew from ${(base / 2 ** 20).toFixed(0)} MB to ${(last / 2 ** 20).toFixed(0)} MB`);
  assert.ok(stats.liveTensors <= 4, `live tensors at the end: ${stats.liveTensors}`);
});

test('without tidy(), the GC safety net keeps RSS bounded', () => {
  const { rss } = runLoop(false, 4_000);
  const max = Math.max(...rss);
  // Each step leaks ~1.5 MB of tensors if nothing collects them: 4,000 steps would be ~6 GB.
  assert.ok(max < 2.5 * 2 ** 30, `RSS reached ${(max / 2 ** 20).toFixed(0)} MB`);
});

test('tidy frees everything but its result, keep() and nested scopes', () => {
  const before = tensorsNotDisposed();
  const kept: Tensor[] = [];
  const out = tidy(() => {
    const a = ones([10]);
    kept.push(keep(a.mul(2)));
    const inner = tidy(() => {
      const t = a.add(1);
      t.mul(3); // garbage
      return { t, list: [t.add(1)] };
    });
    assert.equal(scopeDepth(), 1);
    return inner.list[0]!.add(inner.t);
  });
  assert.equal(scopeDepth(), 0);
  assert.equal(tensorsNotDisposed(), before + 2, 'only the result and the kept tensor survive');
  assert.deepEqual(out.toFlatArray().slice(0, 2), [5, 5]);
  dispose([out, kept]);
  assert.equal(tensorsNotDisposed(), before);
  assert.ok(out.isDisposed);
});

test('tidy disposes its tensors when fn throws, and refuses async functions', async () => {
  const before = tensorsNotDisposed();
  assert.throws(() => tidy(() => {
    zeros([5]);
    throw new Error('inside');
  }), /inside/);
  assert.equal(tensorsNotDisposed(), before);
  assert.throws(() => tidy((async () => randn([2])) as unknown as () => Tensor), /synchronous/);
  await new Promise((r) => setTimeout(r, 1));
});

test('release() frees what the innermost scope owns, now; outer, kept and unscoped tensors are left alone', () => {
  const before = tensorsNotDisposed();
  const top = ones([3]);
  assert.equal(release(top), false, 'outside every scope');
  tidy(() => {
    const outer = ones([3]);
    tidy(() => {
      const a = outer.add(1);
      const b = a.mul(2);
      assert.equal(release(a), true);
      assert.ok(a.isDisposed);
      assert.deepEqual(b.toFlatArray(), [4, 4, 4], 'what was computed from it stays');
      assert.equal(release(outer), false, 'owned by the enclosing scope');
      assert.equal(outer.isDisposed, false);
      const kept = keep(b.add(1));
      assert.equal(release(kept), false, 'kept');
      kept.dispose();
      const returned = tidy(() => b.add(2));
      assert.equal(release(returned), true, 'returned into this scope by a nested one');
      // An old tensor, behind more recent ones than release() looks at, is left to the scope's end.
      const old = b.add(3);
      for (let i = 0; i < 20; i++) b.add(i);
      assert.equal(release(old), false);
      assert.equal(old.isDisposed, false);
    });
  });
  top.dispose();
  assert.equal(tensorsNotDisposed(), before, 'nothing freed twice or left behind');
});

// In a fresh process: the GC freeing some unrelated tensor between two readings would move trackedBytes.
test('views share storage: bytes are counted once per storage', () => {
  const out = runScript(`
import { zeros, memoryStats } from '${indexUrl}';
const bytes = () => memoryStats().trackedBytes;
const before = bytes();
const a = zeros([1000]);
const v1 = a.view(10, 100);
const v2 = a.narrow(0, 0, 10);
const all = bytes() - before;
a.dispose();
const views = bytes() - before;
v1.dispose();
v2.dispose();
console.log(JSON.stringify({ all, views, none: bytes() - before }));
`) as { all: number; views: number; none: number };
  assert.equal(out.all, 4000);
  assert.equal(out.views, 4000, 'views keep the storage alive');
  assert.equal(out.none, 0);
});

test('tidy and dispose find tensors in deeply nested results without overflowing the stack', () => {
  const before = tensorsNotDisposed();
  const out = tidy(() => {
    let v: unknown = ones([1]);
    for (let i = 0; i < 100_000; i++) v = [v];
    zeros([3]); // garbage
    return v;
  });
  assert.equal(tensorsNotDisposed(), before + 1);
  dispose(out);
  assert.equal(tensorsNotDisposed(), before);
});

// Tensors owned by a tidy scope get no weak handle (the scope frees them); the safety net is armed when
// a tensor leaves every scope. A kept tensor and one returned by the outermost tidy, then dropped,
// must be freed by the GC.
test('a tensor that leaves its tidy scopes (keep, or the outermost result) is freed by the GC once dropped', () => {
  const script = `
import { tidy, keep, zeros, memoryStats, tensorsNotDisposed } from '${indexUrl}';
const base = memoryStats().liveTensors;
const notDisposed = tensorsNotDisposed();
(() => {
  tidy(() => { keep(zeros([1000])); zeros([10]); });
  tidy(() => zeros([1000]));
})();
const held = memoryStats().liveTensors - base;
for (let i = 0; i < 5; i++) globalThis.gc();
const s = memoryStats();
console.log(JSON.stringify({ held, after: s.liveTensors - base, bytes: s.trackedBytes, collected: s.collectedTensors,
  notDisposed: tensorsNotDisposed() - notDisposed }));
`;
  const out = runScript(script) as { held: number; after: number; bytes: number; collected: number; notDisposed: number };
  assert.equal(out.held, 2, 'the kept tensor and the returned one are alive before the GC');
  assert.equal(out.after, 0, 'both were freed by the GC');
  assert.equal(out.bytes, 0, 'and their bytes were returned to V8');
  assert.equal(out.collected, 2, 'the GC freed exactly those two (collectedTensors)');
  assert.equal(out.notDisposed, 2, 'a leak check still sees them: left to the GC is not disposed');
});
