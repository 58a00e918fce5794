// The three pages driven in headless Chromium against a running dashboard, with what they show
// checked against robusta itself:
//   - playground: an FGSM attack on an MNIST test digit, started from the page with a checkpoint of a
//     study run, gives the same pictures (PNG bytes), labels, top-5 probabilities and loss points as
//     the library's FGSM on the same model and image in this process;
//   - training runs: a `robusta train` run's loss and accuracy curves have a point per epoch with the
//     values of its metrics.jsonl, and a new epoch written to the file appears while the page is open;
//   - study explorer: the tiny study's scatter plot has one point per model with the measure and gap
//     of the library's analysis, placed in the order of the measure; a filter recomputes it; a click
//     on a point opens the run.
// ROBUSTA_SCREENSHOTS=DIR saves a screenshot of each page there (the README's pictures).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { F, noGrad, setNumThreads, tensor, tidy, type Tensor } from '@robusta/torch';
import { attacks, data, io, report, study, train } from 'robusta';
import type { Browser, Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../src/index.js';

const cliMain = fileURLToPath(new URL('../../../cli/dist/src/main.js', import.meta.url));
const tinySpec = fileURLToPath(new URL('../../../../studies/tiny.yaml', import.meta.url));
const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const noBrowser = chromiumPath ? false : process.env.CI === 'true' ? false : 'Chromium is not installed (apt-get install chromium)';
const shots = process.env.ROBUSTA_SCREENSHOTS;

const root = mkdtempSync(join(tmpdir(), 'robusta-web-ui-'));
const runsDir = join(root, 'runs');
const storePath = join(runsDir, 'studies', 'tiny', 'store.sqlite');
const folderRun = join(runsDir, 'mlp');
let dash: Dashboard;
let browser: Browser;

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [cliMain, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ROBUSTA_NUM_THREADS: '1' } });
  assert.equal(r.status, 0, `robusta ${args.join(' ')}: ${r.stderr}`);
}

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
  return page;
}

/** The accessible labels of a chart's marks (Vega writes each mark's description there). */
function markLabels(page: Page, chart: string, mark: 'symbol' | 'rect'): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('${chart} g.mark-${mark}.role-mark path')].map((p) => p.getAttribute('aria-label') ?? '')`) as Promise<string[]>;
}

/** A picture the page shows, fetched by the page itself, decoded. */
async function shownImage(page: Page, selector: string): Promise<Uint8Array> {
  const b64 = await page.evaluate(`(async () => {
    const res = await fetch(document.querySelector('${selector}').src);
    const bytes = new Uint8Array(await res.arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  })()`) as string;
  return data.decodeImage(Buffer.from(b64, 'base64')).data;
}

const pixels = (t: Tensor) => data.tensorToImage(t).data;

test.before(async () => {
  if (noBrowser) return;
  mkdirSync(runsDir, { recursive: true });
  cli(['study', 'run', tinySpec, '--dir', join(runsDir, 'studies', 'tiny')]);
  cli(['train', '--model', 'mnist-mlp', '--dataset', 'mnist', '--defense', 'standard', '--epochs', '2', '--n-train', '256',
    '--eval-n', '64', '--batch-size', '64', '--lr', '0.05', '--out', folderRun]);
  dash = await startDashboard({ runsDir, port: 0, attackThreads: 1, pollMs: 200 });
  const { chromium } = await import('playwright-core');
  if (!chromiumPath) throw new Error('Chromium is required under CI=true but is not installed');
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  if (shots) mkdirSync(shots, { recursive: true });
});

test.after(async () => {
  await browser?.close();
  await dash?.close();
  rmSync(root, { recursive: true, force: true });
});

test('playground: FGSM on an MNIST digit from the page equals the library\'s FGSM', { skip: noBrowser, timeout: 120_000 }, async () => {
  // The checkpoint of the study's standard-training run, seed 0, as the page lists it.
  const checkpoints = await (await fetch(`${dash.url}api/checkpoints`)).json() as { ref: string; label: string }[];
  const ck = checkpoints.find((c) => c.label === 'tiny · defense=standard · seed=0 · best.pt');
  assert.ok(ck, `checkpoints listed: ${checkpoints.map((c) => c.label).join('; ')}`);

  const page = await newPage();
  await page.goto(dash.openUrl);
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.textContent('#token-state'), 'token set: attacks enabled');
  assert.ok(!page.url().includes('token='), 'the token is taken out of the address bar');
  await page.selectOption('#model', 'mnist-mlp');
  await page.selectOption('#checkpoint', ck.ref);
  await page.selectOption('#attack', 'fgsm');
  await page.fill('#param-eps', '0.1');
  await page.fill('#image-index', '3');
  await page.dispatchEvent('#image-index', 'change');
  await page.click('#run-attack');
  await page.waitForSelector('body[data-result=done]', { timeout: 60_000 });

  // The same attack in this process, on the same weights and digit.
  setNumThreads(1);
  const store = study.openStore(storePath);
  const runId = (await store.runs('tiny')).find((r) => r.settings.defense === 'standard' && r.settings.seed === 0)!.id;
  const weights = (await store.artifacts('tiny', runId)).find((a) => a.kind === 'best.pt')!.path;
  await store.close();
  const net = train.createJobModel({ model: 'mnist-mlp', dataset: 'mnist', seed: 0 }, 10);
  const state = io.loadStateDict(weights);
  net.loadStateDict(state, { strict: true });
  for (const t of state.values()) t.dispose();
  net.eval();
  const mnist = data.loadMnist('test');
  const { x, y } = mnist.get([3]);
  mnist.dispose();
  const label = Number(y.item());
  const result = new attacks.FGSM(net, { eps: 0.1 }).run(x, y);
  const expected = tidy(() => {
    const probs = (z: Tensor) => z.softmax(1).select(0, 0).toFlatArray();
    const clean = noGrad(() => net.forward(x)), adv = noGrad(() => net.forward(result.adv));
    const delta = result.adv.sub(x).select(0, 0);
    const linf = delta.abs().max().item();
    return {
      before: probs(clean), after: probs(adv), linf,
      ceClean: F.crossEntropy(clean, tensor([label], { dtype: 'int64' })).item(),
      ceAdv: F.crossEntropy(adv, tensor([label], { dtype: 'int64' })).item(),
      original: pixels(x.select(0, 0)), adversarial: pixels(result.adv.select(0, 0)),
      perturbation: pixels(delta.mul(0.5 / linf).add(0.5).clamp(0, 1)),
      cleanPred: Number(result.cleanPred.item()), advPred: Number(result.advPred.item()), success: result.success.item() === 1,
    };
  });

  // Labels shown.
  assert.equal(await page.getAttribute('#clean-label', 'data-label'), String(label));
  assert.equal(await page.getAttribute('#clean-label', 'data-pred'), String(expected.cleanPred));
  assert.equal(await page.getAttribute('#adv-label', 'data-pred'), String(expected.advPred));
  assert.equal(await page.getAttribute('#summary', 'data-success'), String(expected.success));
  assert.ok(Math.abs(Number(await page.getAttribute('#summary', 'data-linf')) - expected.linf) < 1e-6);
  assert.match(await page.textContent('#summary') ?? '', new RegExp(`prediction ${expected.cleanPred} → ${expected.advPred}`));
  // Pictures shown, pixel for pixel.
  assert.deepEqual(await shownImage(page, '#img-original'), expected.original);
  assert.deepEqual(await shownImage(page, '#img-adversarial'), expected.adversarial);
  assert.deepEqual(await shownImage(page, '#img-perturbation'), expected.perturbation);
  // The top-5 bars: classes in order of probability, each with its percentage.
  const bars = async (chart: string, probs: number[]) => {
    const shown = await markLabels(page, chart, 'rect');
    const order = probs.map((p, k) => [p, k] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
    assert.deepEqual(shown.sort(), order.map(([p, k]) => `${k}: ${k} ${(p * 100).toFixed(2)} %`).sort(), chart);
  };
  await bars('#chart-before', expected.before);
  await bars('#chart-after', expected.after);
  // The loss curve: the clean query, FGSM's one gradient step at x, the final query at x + δ.
  const loss = await markLabels(page, '#chart-loss', 'symbol');
  assert.deepEqual(loss, [
    `call 1 (query): CE(label) ${expected.ceClean.toFixed(4)}`,
    `call 2 (gradient step): CE(label) ${expected.ceClean.toFixed(4)}`,
    `call 3 (query): CE(label) ${expected.ceAdv.toFixed(4)}`,
  ]);
  // The download link serves the same adversarial PNG as an attachment.
  const href = await page.getAttribute('#download', 'href');
  const res = await fetch(new URL(href!, dash.url));
  assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="adversarial-fgsm\.png"/);
  assert.deepEqual(data.decodeImage(new Uint8Array(await res.arrayBuffer())).data, expected.adversarial);
  if (shots) await page.screenshot({ path: join(shots, 'dashboard-playground.png'), fullPage: true });
  net.dispose();
  await page.close();
});

test('training runs: a finished run\'s curves, and a new epoch appears live', { skip: noBrowser, timeout: 120_000 }, async () => {
  const history = new train.MetricsLog(join(folderRun, 'metrics.jsonl')).read();
  assert.equal(history.length, 2);
  const page = await newPage();
  await page.goto(`${dash.url}runs`);
  await page.waitForSelector('#runs-table tbody tr >> nth=4');
  const rows = await page.evaluate(`[...document.querySelectorAll('#runs-table tbody tr td:first-child a')].map((a) => a.textContent)`) as string[];
  assert.deepEqual(rows.sort(), ['mlp', 'tiny · defense=at · seed=0', 'tiny · defense=at · seed=1', 'tiny · defense=standard · seed=0', 'tiny · defense=standard · seed=1']);

  await page.click('a[data-key="f:mlp"]');
  await page.waitForSelector('#run-detail[data-shown-epochs="2"]');
  const f4 = (v: number) => v.toFixed(4);
  assert.deepEqual(await markLabels(page, '#chart-run-loss', 'symbol'), history.map((h) => `epoch ${h.epoch}: training loss ${f4(h.loss)}`));
  const acc = history.flatMap((h) => [
    `epoch ${h.epoch}: train clean ${f4(h.train_clean_acc)}`, `epoch ${h.epoch}: test clean ${f4(h.test_clean_acc!)}`,
    `epoch ${h.epoch}: test robust (PGD) ${f4(h.test_pgd_acc!)}`,
  ]);
  assert.deepEqual((await markLabels(page, '#chart-run-accuracy', 'symbol')).sort(), acc.sort());
  const checkpoints = await page.evaluate(`[...document.querySelectorAll('#run-checkpoints li')].map((li) => li.textContent.split(' ')[0])`);
  assert.deepEqual(checkpoints, ['best.pt', 'last.pt', 'init.pt']);

  // A third epoch lands in metrics.jsonl, as the trainer appends it: the open page follows.
  appendFileSync(join(folderRun, 'metrics.jsonl'), `${JSON.stringify({ ...history[1], epoch: 3, loss: 1.25 })}\n`);
  await page.waitForSelector('#run-detail[data-shown-epochs="3"]', { timeout: 10_000 });
  assert.deepEqual((await markLabels(page, '#chart-run-loss', 'symbol')).at(-1), 'epoch 3: training loss 1.2500');
  assert.equal(await page.textContent('a[data-key="f:mlp"] >> xpath=../../td[3]'), '3');

  // A study run opens from the same list, with the train robust accuracy of adversarial training.
  await page.click('text=tiny · defense=at · seed=0');
  await page.waitForSelector('#run-detail[data-shown-epochs="2"]');
  const atLabels = await markLabels(page, '#chart-run-accuracy', 'symbol');
  assert.equal(atLabels.length, 8, atLabels.join('; '));
  assert.ok(atLabels.some((l) => l.startsWith('epoch 2: train robust ')));
  if (shots) await page.screenshot({ path: join(shots, 'dashboard-runs.png'), fullPage: true });
  await page.close();
});

test('study explorer: the scatter plot shows each model at its measure and gap; filters and clicks work', { skip: noBrowser, timeout: 120_000 }, async () => {
  const store = study.openStore(storePath);
  const analysis = await study.analyseStudy(store, 'tiny', { bootstrapSamples: 0 });
  await store.close();
  assert.equal(analysis.models.length, 8);
  const measure = analysis.measures[0]!.name;

  const page = await newPage();
  await page.goto(`${dash.url}studies`);
  await page.waitForSelector('#study-body[data-loaded="1"]');
  assert.equal(await page.getAttribute('#study-body', 'data-measure'), measure);
  assert.equal(await page.getAttribute('#study-body', 'data-models'), '8');

  // One point per model, described by the model, its measure value and its gap.
  const points = await page.evaluate(`[...document.querySelectorAll('#chart-scatter g.mark-symbol.role-mark path')].map((p) => ({
    label: p.getAttribute('aria-label') ?? '', x: p.transform.baseVal.consolidate()?.matrix.e ?? NaN }))`) as { label: string; x: number }[];
  assert.equal(points.length, 8);
  const describe = (m: (typeof analysis.models)[number]) => `${m.label}|${measure}: ${report.formatValue(m.measures[measure])}|gap: ${m.gap.toFixed(4)}`;
  const shown = points.map((p) => {
    const lines = p.label.split(/\n|;\s*/).map((l) => l.trim());
    return `${lines[0]}|${lines.find((l) => l.startsWith(`${measure}: `))}|${lines.find((l) => l.startsWith('gap: '))}`;
  });
  assert.deepEqual([...shown].sort(), analysis.models.map(describe).sort());
  // Placed in the order of the measure along x.
  const byValue = points.map((p, i) => ({ x: p.x, v: analysis.models.find((m) => describe(m) === shown[i])!.measures[measure]! })).sort((a, b) => a.v - b.v);
  for (let i = 1; i < byValue.length; i++) assert.ok(byValue[i]!.x >= byValue[i - 1]!.x - 1e-6, `points out of order along x: ${JSON.stringify(byValue)} ${JSON.stringify(points)}`);
  // The τ table: a row per measure, overall τ as the analysis computes it.
  const tauRows = await page.evaluate(`[...document.querySelectorAll('#tau-table tbody tr')].map((tr) => [tr.dataset.measure, tr.children[1].textContent])`) as [string, string][];
  assert.deepEqual(tauRows.map((r) => r[0]), analysis.tau.map((r) => r.measure));
  const t0 = analysis.tau[0]!.overall.tau;
  assert.ok(tauRows[0]![1].startsWith(Number.isFinite(t0) ? t0.toFixed(3) : '–'), tauRows[0]![1]);
  if (shots) await page.screenshot({ path: join(shots, 'dashboard-studies.png'), fullPage: true });

  // Filter: standard training only — four models, τ over them.
  await page.uncheck('#filters input[data-axis=defense][value=at]');
  await page.waitForSelector('#study-body[data-loaded="2"]');
  assert.equal(await page.getAttribute('#study-body', 'data-models'), '4');
  const kept = await markLabels(page, '#chart-scatter', 'symbol');
  assert.equal(kept.length, 4);
  assert.ok(kept.every((l) => /defense: standard/.test(l)), kept.join(' / '));
  assert.equal(await page.textContent('#tau-table tbody tr:first-child td:last-child'), '4');

  // A click on a point opens its run.
  await page.click('#chart-scatter g.mark-symbol.role-mark path >> nth=0', { force: true });
  await page.waitForURL(/\/runs#run=/);
  await page.waitForSelector('#run-detail[data-shown-epochs="2"]');
  assert.match(await page.textContent('#run-title') ?? '', /^tiny · defense=standard · seed=[01]$/);
  await page.close();
});
