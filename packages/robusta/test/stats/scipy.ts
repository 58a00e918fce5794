// Test support for the statistics: the reference is SciPy (Debian's python3-scipy), run as a Python
// script that reads INPUT (JSON, null for NaN) and sets OUTPUT (NaN written back as null).
// It does not go through '@robusta/torch/testing' because these tests need neither torch nor the addon.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function python(): string {
  if (process.env.ROBUSTA_PYTHON) return process.env.ROBUSTA_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

let available: boolean | undefined;
export function hasScipy(): boolean {
  if (available === undefined) {
    available = spawnSync(python(), ['-c', 'import scipy.stats, numpy'], { stdio: 'ignore' }).status === 0;
  }
  return available;
}

/** node:test `skip` option: skip with the reason when SciPy is missing, but never under CI (the test then fails). */
export function scipySkip(): string | false {
  return !hasScipy() && process.env.CI !== 'true' ? 'python3-scipy is not installed (apt-get install python3-scipy)' : false;
}

const PRELUDE = `
import json, sys, math
import numpy as np
import scipy, scipy.stats
def _nan(o):
    if o is None: return float('nan')
    if isinstance(o, list): return [_nan(v) for v in o]
    if isinstance(o, dict): return {k: _nan(v) for k, v in o.items()}
    return o
def _null(o):
    if isinstance(o, float) and not math.isfinite(o): return None if math.isnan(o) else o
    if isinstance(o, (np.floating, np.integer)): return _null(o.item())
    if isinstance(o, (list, tuple)): return [_null(v) for v in o]
    if isinstance(o, dict): return {k: _null(v) for k, v in o.items()}
    return o
INPUT = _nan(json.loads(sys.stdin.read()))
`;

/** Runs `script` with INPUT (NaN travels as null and is NaN again in Python); returns OUTPUT with NaN → NaN. */
export function runScipy<R = unknown>(script: string, input: unknown): R {
  const body = `${PRELUDE}\n${script}\nprint(json.dumps(_null(OUTPUT)))\n`;
  const stdout = execFileSync(python(), ['-c', body], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 30 });
  return JSON.parse(stdout, (_k, v) => (v === null ? NaN : v)) as R;
}

/** |a − b| ≤ tol, with NaN equal only to NaN. */
export function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= tol;
}
