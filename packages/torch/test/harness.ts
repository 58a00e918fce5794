// Runs the same computations in robusta and in PyTorch (Debian python3-torch, the same libtorch) and
// compares forward values and, where asked, gradients of a random projection of the output.
import assert from 'node:assert/strict';
import { runPython, type PyTensor } from '../src/testing/pyref.js';
import { Tensor, tidy, randn, zeros, autograd } from '../src/index.js';

export interface Case {
  name: string;
  inputs: Tensor[];
  /** robusta's computation on the inputs. */
  ts: (...xs: Tensor[]) => Tensor | Tensor[];
  /** PyTorch's, as a Python expression over a, b, c, d (the inputs) and F (torch.nn.functional). */
  py: string;
  /** Also compare d(sum(out * w))/d(inputs) for the float inputs. */
  grad?: boolean;
  /** Inputs (by position) that must not require grad, e.g. batch norm's running statistics. */
  constant?: number[];
  tol?: number;
}

interface PyResult {
  out: PyTensor | PyTensor[];
  grads: (PyTensor | null)[] | null;
}

function flat(t: Tensor): number[] {
  return t.toFlatArray();
}

function close(name: string, got: Tensor, want: PyTensor, tol: number): void {
  assert.deepEqual(got.shape, want.shape, `${name}: shape`);
  const a = flat(got);
  for (let i = 0; i < a.length; i++) {
    const w = want.data[i]!;
    const g = a[i]!;
    if (Number.isNaN(g) && (w === null || Number.isNaN(w))) continue;
    const err = Math.abs(g - w);
    if (!(err <= tol * (1 + Math.abs(w)))) {
      assert.fail(`${name}: element ${i}: robusta ${g} vs PyTorch ${w} (tolerance ${tol})`);
    }
  }
}

/** Runs every case on both sides (one Python process for all) and asserts agreement. */
export function compareWithPyTorch(cases: Case[]): void {
  const pyCases = cases.map((c) => ({ name: c.name, inputs: c.inputs, py: c.py, grad: !!c.grad, constant: c.constant ?? [] }));
  // The projection weights w for the gradient check are made here and sent to Python.
  const results: { out: Tensor[]; grads: (Tensor | null)[] | null; ws: Tensor[] }[] = cases.map((c) =>
    tidy(() => {
      const xs = c.inputs.map((x, i) =>
        c.grad && x.dtype.startsWith('float') && !c.constant?.includes(i) ? x.detach().requiresGrad_(true) : x);
      const r = c.ts(...xs);
      const outs = Array.isArray(r) ? r : [r];
      if (!c.grad) return { out: outs.map((o) => o.detach()), grads: null, ws: [] };
      // Integer outputs (indices) carry no gradient: their projection weight is zero.
      const ws = outs.map((o) => (o.dtype.startsWith('float') ? randn(o.shape, { dtype: o.dtype }) : zeros(o.shape)));
      let total = zeros([]);
      for (let i = 0; i < outs.length; i++) if (outs[i]!.dtype.startsWith('float')) total = total.add(outs[i]!.mul(ws[i]!).sum());
      const floatInputs = xs.filter((x) => x.requiresGrad);
      const gs = autograd.grad(total, floatInputs, { allowUnused: true });
      let k = 0;
      const grads = xs.map((x) => (x.requiresGrad ? gs[k++] ?? null : null));
      return { out: outs.map((o) => o.detach()), grads, ws };
    }),
  );
  const payload = pyCases.map((c, i) => ({ ...c, ws: results[i]!.ws }));
  const py = runPython<PyResult[]>(
    `
import torch.nn.functional as F
res = []
for c in INPUT:
    xs = [T(x, requires_grad=(c['grad'] and x['dtype'].startswith('float') and i not in c['constant'])) for i, x in enumerate(c['inputs'])]
    env = {'torch': torch, 'F': F, 'math': math}
    for name, x in zip('abcdefgh', xs): env[name] = x
    out = eval(c['py'], env)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    grads = None
    if c['grad']:
        total = sum((o * T(w)).sum() for o, w in zip(outs, c['ws']) if o.dtype.is_floating_point)
        fl = [x for x in xs if x.requires_grad]
        gs = list(torch.autograd.grad(total, fl, allow_unused=True))
        grads = [gs.pop(0) if x.requires_grad else None for x in xs]
    res.append({'out': outs, 'grads': grads})
OUTPUT = res
`,
    payload,
  );
  cases.forEach((c, i) => {
    const r = results[i]!;
    const p = py[i]!;
    const outs = Array.isArray(p.out) ? p.out : [p.out];
    const tol = c.tol ?? 1e-5;
    assert.equal(r.out.length, outs.length, `${c.name}: number of outputs`);
    r.out.forEach((o, k) => close(c.name, o, outs[k]!, tol));
    if (c.grad && r.grads && p.grads) {
      r.grads.forEach((g, k) => {
        const want = p.grads![k];
        if (g === null || want === null || want === undefined) {
          assert.equal(g === null, want === null || want === undefined, `${c.name}: gradient ${k} presence`);
        } else close(`${c.name} (grad of input ${k})`, g, want, tol);
      });
    }
    for (const t of [...r.out, ...(r.grads ?? []), ...r.ws]) t?.dispose();
  });
}
