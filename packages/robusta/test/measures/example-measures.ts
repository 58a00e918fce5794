// Shared fixture of the example-based measure tests (margins, local Lipschitz, KL, input gradients,
// boundary thickness): the trained small CNN on the first MNIST training digits, small settings, the
// measured values through computeMeasures, the shared PGD examples, and the plain-PyTorch oracle.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { hasPyTorch, runPython } from '@robusta/torch/testing';
import { keep, noGrad, type Tensor, tidy } from '@robusta/torch';
import { computeMeasures, type MeasuredValue } from '../../src/measures/compute.js';
import { DefaultMeasureContext, type MeasureData, type MeasureSettingsInput, resolveSettings } from '../../src/measures/context.js';
import type { Sequential } from '../../src/nn/index.js';
import { exportForPython, loadMnist, measuresPrelude, readTensors, smallCnn, trainedSmallCnn } from './support.js';

/** Small and fast: 48 examples in 3 batches, PGD-5 at ε 0.1 (MNIST scale). */
export const SETTINGS: MeasureSettingsInput = { n: 48, batchSize: 16, seed: 3, attack: { norm: 'Linf', eps: 0.1, alpha: 0.025, steps: 5 } };

/** Under CI a missing oracle fails rather than skips. */
export const oracleSkip: string | false = !hasPyTorch() && process.env.CI !== 'true' ? 'python3-torch is not installed' : false;

export interface Fixture {
  model: Sequential;
  data: MeasureData;
  x: Tensor;
  y: Tensor;
}

/** The trained small CNN and the first 48 training digits (which it was trained on). */
export function fixture(): Fixture {
  const model = trainedSmallCnn();
  const { images, labels } = loadMnist('train', 0, SETTINGS.n!);
  return { model, data: { train: { x: images, y: labels } }, x: images, y: labels };
}

/** The named measures through computeMeasures, by name. */
export function measure(model: Sequential, data: MeasureData, names: string[], settings: MeasureSettingsInput = SETTINGS): Map<string, MeasuredValue> {
  const report = computeMeasures(model, data, { ...settings, measures: names });
  return new Map(report.measures.map((m) => [m.name, m]));
}

/** The shared PGD examples of a context with these settings (the ones the adversarial measures see), kept. */
export function adversarialExamples(model: Sequential, data: MeasureData, settings: MeasureSettingsInput = SETTINGS): Tensor {
  const ctx = new DefaultMeasureContext(model, data, resolveSettings(settings));
  model.eval();
  try {
    return keep(ctx.adversarial().clone());
  } finally {
    ctx.dispose();
  }
}

/**
 * Runs `body` in PyTorch with W (the tensors), M = small_cnn(W) and `out`, a dict the body fills with
 * tensors that come back by name.
 */
export function python(model: Sequential, tensors: Record<string, Tensor>, body: string): Record<string, Tensor> {
  const dir = exportForPython(model, tensors);
  try {
    runPython(`${measuresPrelude()}
D = ${JSON.stringify(dir)}
W = load_tensors(D)
M = small_cnn(W)
out = {}
${body}
save_tensors(D, out)
OUTPUT = None
`);
    return readTensors(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per example |actual − expected| ≤ atol + rtol·|expected| (NaN only where NaN is expected). */
export function assertClosePerExample(actual: readonly number[] | undefined, expected: Tensor | number[], what: string, atol = 1e-5, rtol = 1e-5): void {
  assert.ok(actual, `${what}: no per-example values`);
  const want = Array.isArray(expected) ? expected : expected.toFlatArray();
  assert.equal(actual.length, want.length, `${what}: ${actual.length} values, expected ${want.length}`);
  actual.forEach((a, i) => {
    const b = want[i]!;
    if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `${what}[${i}]: ${a}, expected NaN`);
    else assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${what}[${i}]: robusta ${a} vs PyTorch ${b}`);
  });
}

/** A small CNN whose first convolution holds a NaN: every logit is NaN. */
export function nanWeightsModel(): Sequential {
  const model = smallCnn(1);
  noGrad(() => model.parameters()[0]!.narrow(0, 0, 1).fill_(NaN));
  model.eval();
  return model;
}

/** Each named measure is NaN with no error, and the whole call does not throw. */
export function assertNaNWithoutCrash(names: string[], data: MeasureData): void {
  const model = nanWeightsModel();
  const report = computeMeasures(model, data, { ...SETTINGS, measures: names });
  assert.ok(report.warnings.some((w) => w.includes('non-finite')), 'the report should warn about the NaN weights');
  for (const m of report.measures) {
    assert.ok(Number.isNaN(m.value), `${m.name}: ${m.value} with NaN weights, expected NaN`);
    assert.equal(m.error, undefined, `${m.name}: should give NaN, not fail (${m.error})`);
  }
}

/** The same call twice gives the same values, per example too. */
export function assertRepeatable(f: Fixture, names: string[]): void {
  const a = measure(f.model, f.data, names);
  const b = measure(f.model, f.data, names);
  for (const name of names) {
    const ma = a.get(name)!;
    const mb = b.get(name)!;
    assert.ok(Number.isFinite(ma.value), `${name}: ${ma.value} (${ma.error ?? ''})`);
    assert.equal(ma.value, mb.value, `${name}: ${ma.value} then ${mb.value}`);
    assert.deepEqual(ma.perExample, mb.perExample, `${name}: per-example values differ between calls`);
  }
}

/** How many fixture examples the model misclassifies (a sample must mix both for some checks to bite). */
export function misclassified(f: Fixture): number {
  return tidy(() => noGrad(() => f.model.forward(f.x).argmax(1).ne(f.y).sum().item()));
}
