// Shared by the checkpoint tests: a temp dir per test file, running Debian's PyTorch on scripts that
// read and write files there, and exact tensor fingerprints (dtype, shape, SHA-256 of the bytes) that
// both sides compute the same way.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleRequired, pyTorchSkip, pythonPath, requirePyTorch } from '@robusta/torch/testing';
import type { Tensor } from '@robusta/torch';
import { tensorBytes } from '../../src/io/dtypes.js';

/** Skip reason without PyTorch; `false` under CI, where the test then fails naming what is missing. */
export const skipWithoutTorch: false | string = pyTorchSkip();

let pythonFound: boolean | undefined;
/** Whether a plain python3 (no torch) runs: CPython's pickler is the oracle of the pickle tests. */
function hasPython(): boolean {
  pythonFound ??= spawnSync(pythonPath(), ['-c', 'import pickle'], { stdio: 'ignore' }).status === 0;
  return pythonFound;
}
/** Skip reason without python3; `false` under CI. */
export const skipWithoutPython: false | string = !hasPython() && !oracleRequired() ? 'python3 is not installed' : false;

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `robusta-io-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Python helpers every script gets: info(t) is the fingerprint tensorInfo() computes in Node. */
const PRELUDE = `
import sys, os, json, hashlib, collections, struct, zipfile, io, pickle
DIR = sys.argv[1]
def P(name): return os.path.join(DIR, name)
def raw(t):
    flat = t.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b''
def info(t):
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'stride': list(t.stride()),
            'offset': t.storage_offset(), 'sha': hashlib.sha256(raw(t)).hexdigest(), 'requires_grad': t.requires_grad}
def infos(d): return {k: info(v) for k, v in d.items()}
OUTPUT = None
`;

/**
 * Runs a Python script with DIR set to `dir`; the script sets OUTPUT, which comes back from JSON.
 * `withTorch: false` skips importing torch (seconds saved) for scripts that only need the stdlib.
 */
export function python<R = unknown>(dir: string, script: string, options: { withTorch?: boolean } = {}): R {
  if (options.withTorch !== false) requirePyTorch();
  const torchImport = options.withTorch === false ? '' : 'import torch\ntorch.set_num_threads(1)\n';
  const body = `${torchImport}${PRELUDE}\n${script}\nprint('@@OUTPUT@@' + json.dumps(OUTPUT))\n`;
  const stdout = execFileSync(pythonPath(), ['-c', body, dir], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const at = stdout.lastIndexOf('@@OUTPUT@@');
  if (at < 0) throw new Error(`python printed no output:\n${stdout}`);
  return JSON.parse(stdout.slice(at + '@@OUTPUT@@'.length)) as R;
}

export interface TensorInfo {
  dtype: string;
  shape: number[];
  stride: number[];
  offset?: number;
  sha: string;
  requires_grad?: boolean;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** dtype, shape, stride and the SHA-256 of the contiguous little-endian elements. */
export function tensorInfo(t: Tensor): TensorInfo {
  return { dtype: t.dtype, shape: t.shape, stride: t.stride(), sha: sha256(tensorBytes(t)) };
}

/** A seeded PRNG (mulberry32), for reproducible fuzzing. */
export { mulberry32 as rng } from '../support/random.js';
