// Test support: runs the reference PyTorch with a script that sets OUTPUT to plain JSON data
// (strings allowed, unlike runPython's J()), INPUT being the given value.
import { execFileSync } from 'node:child_process';
import { pythonPath } from '@robusta/torch/testing';

const PRELUDE = `
import json, sys, math
import torch
torch.set_num_threads(1)
INPUT = json.loads(sys.stdin.read() or 'null')
`;

export function runPy<R>(script: string, input: unknown = null): R {
  const body = `${PRELUDE}\n${script}\nprint(json.dumps(OUTPUT))\n`;
  const stdout = execFileSync(pythonPath(), ['-c', body], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 30 });
  return JSON.parse(stdout) as R;
}

/** Runs once and remembers the result (or the error, so that failing tests do not rerun Python). */
export function once<R>(fn: () => R): () => R {
  let done = false;
  let value: R | undefined;
  let error: unknown;
  return () => {
    if (!done) {
      done = true;
      try {
        value = fn();
      } catch (e) {
        error = e;
      }
    }
    if (error !== undefined) throw error;
    return value as R;
  };
}
