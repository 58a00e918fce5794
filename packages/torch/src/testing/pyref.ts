// The reference oracle for tests: Debian's python3-torch is the same libtorch, so the tests run the
// same computation in PyTorch and compare. Tensors travel as JSON ({shape, dtype, data}).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Tensor } from '../tensor.js';
import { tensor } from '../creation.js';
import type { DType } from '../dtype.js';

export interface PyTensor {
  shape: number[];
  dtype: string;
  data: number[];
}

/** The Python that has torch: ROBUSTA_PYTHON, else Debian's /usr/bin/python3 (a pyenv python earlier on PATH may lack it). */
export function pythonPath(): string {
  if (process.env.ROBUSTA_PYTHON) return process.env.ROBUSTA_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

let available: boolean | undefined;
/** Whether the reference PyTorch can be imported. */
export function hasPyTorch(): boolean {
  if (available === undefined) {
    const r = spawnSync(pythonPath(), ['-c', 'import torch'], { stdio: 'ignore' });
    available = r.status === 0;
  }
  return available;
}

/**
 * Whether a missing reference oracle must fail the tests rather than skip them: under CI (`CI=true`,
 * which `.ci/run` exports) or when `ROBUSTA_REQUIRE_PYTORCH=1`. A run that skipped every comparison
 * would otherwise exit 0 and look green.
 */
export function oracleRequired(): boolean {
  return process.env.CI === 'true' || process.env.ROBUSTA_REQUIRE_PYTORCH === '1';
}

/** The reason given when PyTorch is missing. */
export const NO_PYTORCH = 'python3-torch is not installed (apt-get install python3-torch)';

/**
 * The node:test `skip` option for a test that compares with PyTorch: the reason when PyTorch is
 * missing, or `false` when it is present — and `false` too when the oracle is required (CI), so that the
 * test runs and fails in `runPython`/`requirePyTorch` with a message naming what is missing.
 */
export function pyTorchSkip(): string | false {
  return !hasPyTorch() && !oracleRequired() ? NO_PYTORCH : false;
}

/** Throws unless PyTorch can be imported: for `before` hooks and helpers that call Python themselves. */
export function requirePyTorch(): void {
  if (!hasPyTorch()) {
    throw new Error(`${NO_PYTORCH}; it is the reference oracle of this test` +
      (oracleRequired() ? ' and is required here (CI=true or ROBUSTA_REQUIRE_PYTORCH=1)' : ''));
  }
}

const PRELUDE = `
import json, sys, math
import torch
torch.set_num_threads(1)
def T(o, requires_grad=False):
    dt = getattr(torch, {'float32':'float32','float64':'float64','int64':'int64','int32':'int32','uint8':'uint8','bool':'bool'}[o['dtype']])
    t = torch.tensor(o['data'], dtype=torch.float64).reshape(o['shape']).to(dt)
    if requires_grad: t.requires_grad_(True)
    return t
def J(t):
    if t is None: return None
    if isinstance(t, (int, float, bool)): return t
    if isinstance(t, (list, tuple)): return [J(x) for x in t]
    if isinstance(t, dict): return {k: J(v) for k, v in t.items()}
    t = t.detach().cpu()
    dt = str(t.dtype).replace('torch.', '')
    return {'shape': list(t.shape), 'dtype': dt, 'data': t.double().reshape(-1).tolist() if dt != 'bool' else t.reshape(-1).int().tolist()}
INPUT = json.loads(sys.stdin.read() or 'null')
`;

/**
 * Runs a Python script with `INPUT` (the JSON of `input`, tensors as {shape, dtype, data}) and helpers
 * T(obj) -> torch.Tensor and J(value) -> JSON; the script sets OUTPUT, which comes back parsed.
 */
export function runPython<R = unknown>(script: string, input: unknown = null): R {
  requirePyTorch();
  const body = `${PRELUDE}\n${script}\nprint(json.dumps(J(OUTPUT), allow_nan=True))\n`;
  const stdout = execFileSync(pythonPath(), ['-c', body], {
    input: JSON.stringify(input, (_k, v) => (v instanceof Tensor ? toPy(v) : v)),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return JSON.parse(stdout.replace(/\bNaN\b/g, 'null').replace(/-?Infinity/g, (m) => (m.startsWith('-') ? '-1e999' : '1e999'))) as R;
}

export function toPy(t: Tensor): PyTensor {
  return { shape: t.shape, dtype: t.dtype, data: t.toFlatArray() };
}

export function fromPy(p: PyTensor): Tensor {
  return tensor(p.data, { shape: p.shape, dtype: (p.dtype as DType) ?? 'float32' });
}

/** Largest absolute difference between a tensor and a Python result (shapes must match). */
export function maxAbsDiff(t: Tensor, p: PyTensor): number {
  const a = t.toFlatArray();
  if (JSON.stringify(t.shape) !== JSON.stringify(p.shape)) {
    throw new Error(`shape mismatch: robusta [${t.shape.join(', ')}] vs PyTorch [${p.shape.join(', ')}]`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - (p.data[i] ?? NaN));
    if (Number.isNaN(d)) return Infinity;
    if (d > m) m = d;
  }
  return m;
}
