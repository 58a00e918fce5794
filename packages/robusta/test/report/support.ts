// Test support for the report: a synthetic study (24 models = 3 defenses × 2 architectures × 2 batch
// sizes × 2 checkpoints, 4 measures, seeded numbers, a few values missing on purpose), a temp folder,
// and where Debian's Chromium is (the browser checks skip without it, and fail under CI).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportMeasure, ReportModel, ReportTauRow, StudyReportData, TauCell } from '../../src/report/index.js';

export { mulberry32 as rng } from '../support/random.js';
import { mulberry32 as rng } from '../support/random.js';

export const HOSTILE_LABEL = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">"quoted" & 'single'`;

export const MEASURES: ReportMeasure[] = [
  { name: 'input-gradient-norm', family: 'gradient', unit: 'L1', direction: -1, description: 'E‖∇ₓ ℓ‖₁ on adversarial inputs.' },
  { name: 'boundary-thickness', family: 'boundary', unit: '', direction: 1, description: 'Yang et al. 2020, (α, β) = (0, 0.75).' },
  // Spans orders of magnitude (a log axis) and is missing for some models (NaN or absent).
  { name: 'spectral-norm-product', family: 'weight norm', unit: '', direction: -1, description: 'Π ‖W‖₂ over layers.' },
  { name: 'average-flatness', family: 'flatness', unit: 'nats', direction: 0, description: 'Stutz et al. 2021, <radius 0.5>.' },
];

export interface SyntheticOptions {
  seed?: number;
  /** Give model 5 a label with markup (it must be shown, never parsed). */
  hostileLabel?: boolean;
}

export function syntheticStudy(options: SyntheticOptions = {}): StudyReportData {
  const random = rng(options.seed ?? 7);
  const defenses = ['at', 'trades', 'mart'];
  const axes = ['defense', 'arch', 'batch', 'checkpoint'];
  const models: ReportModel[] = [];
  for (const defense of defenses) for (const arch of ['cnn-s', 'cnn-l']) for (const batch of [64, 256]) for (const checkpoint of ['best', 'last']) {
    const i = models.length;
    const train = 0.45 + 0.5 * random();
    const test = train - (0.02 + 0.3 * random());
    const gap = train - test;
    const measures: Record<string, number> = {
      'input-gradient-norm': 0.2 + 3 * gap + 0.4 * random(),
      'boundary-thickness': 1.5 - (defense === 'trades' ? -1 : 1) * gap + 0.2 * random(),
      'spectral-norm-product': 10 ** (1 + 4 * random()),
      'average-flatness': 0.05 + 0.5 * random(),
    };
    if (i % 7 === 3) measures['spectral-norm-product'] = NaN;
    if (i === 10) delete measures['spectral-norm-product'];
    models.push({
      id: `${(0x1000 + i * 2654435761).toString(16).slice(-8)}/${checkpoint}`,
      label: options.hostileLabel && i === 5 ? HOSTILE_LABEL : `${defense} · ${arch} · bs=${batch} · ${checkpoint}`,
      settings: { defense, arch, batch, checkpoint },
      defense, trainRobustAccuracy: train, testRobustAccuracy: test, gap, measures,
    });
  }
  const cell = (n: number): TauCell => {
    const tau = 2 * random() - 1;
    const half = 0.05 + 0.3 * random();
    return { tau, low: Math.max(-1, tau - half), high: Math.min(1, tau + half), n };
  };
  const tau: ReportTauRow[] = MEASURES.map((m, k) => {
    const n = models.filter((x) => Number.isFinite(x.measures[m.name])).length;
    const granulated = Object.fromEntries(axes.map((a) => [a, 2 * random() - 1]));
    if (k === 1) granulated.batch = NaN; // no group with two models
    const values = Object.values(granulated).filter(Number.isFinite);
    return {
      measure: m.name,
      overall: cell(n),
      perDefense: Object.fromEntries(defenses.map((d) => [d, cell(8)])),
      granulated,
      granulatedMean: values.reduce((s, v) => s + v, 0) / values.length,
    };
  });
  // A τ that could not be computed, and one computed without an interval.
  tau[3].perDefense.mart = { tau: NaN, low: NaN, high: NaN, n: 1 };
  tau[2].perDefense.at.low = NaN;
  tau[2].perDefense.at.high = NaN;
  return {
    title: options.hostileLabel ? `Synthetic study <i>not italic</i>` : 'Synthetic study',
    createdAt: '2024-05-01T12:00:00.000Z',
    study: { name: 'synthetic-24', dataset: 'mnist', description: 'Seeded numbers for the report tests.', specHash: 'deadbeef' },
    axes, defenses, models, measures: MEASURES, tau,
    notes: ['3.2 s per model (synthetic)', 'machine: test <b>bold?</b>'],
  };
}

/** Models that a measure's scatter plot shows: a finite value (and a finite gap). */
export function plottedModels(data: StudyReportData, measure: string): ReportModel[] {
  return data.models.filter((m) => Number.isFinite(m.measures[measure]) && Number.isFinite(m.gap));
}

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `robusta-report-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Debian's Chromium (ROBUSTA_CHROMIUM overrides). */
export const chromiumPath: string | undefined = [process.env.ROBUSTA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']
  .find((p): p is string => !!p && existsSync(p));

/** The skip reason for browser tests; under CI a missing browser is a failure, not a skip. */
export const skipWithoutChromium: string | false = chromiumPath === undefined && process.env.CI !== 'true'
  ? 'Chromium is not installed (apt-get install chromium)' : false;

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** PNG bytes → width, height, or throws when the signature or IHDR is wrong. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 33 || sig.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG (signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('not a PNG (no IHDR)');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
