// The report as a browser shows it: index.html opened from disk in headless Debian Chromium (driven by
// playwright-core), checked on the rendered DOM rather than on our own strings:
//   - every scatter plot has exactly one data mark per model with a finite measure value, each mark is
//     that model (its hover title), marks are coloured by defense (one colour per defense, distinct),
//     and placed by the data (x ordered as the measure, y as the gap);
//   - the train/test accuracy plot has one mark per model and the y = x line; the heat-map one cell per τ;
//   - the τ table shows the τ values, intervals, n, sign classes and "disagrees with the paper" marks given;
//   - the page made no request but its own file, logged no console error, ran no script, and a model
//     label full of markup is shown as text (in the table and in the plots' titles);
//   - every plots/*.svg parses as SVG; a full-page screenshot is a real PNG.
// Broken versions caught: marks for NaN values or dropped models, colour by another field, swapped
// axes, a wrong τ/interval/column in the table, a flag with the wrong sign rule, unescaped labels,
// any external resource or script.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type ReportFiles, type StudyReportData, writeReport } from '../../src/report/index.js';
import { CHROMIUM_ARGS, chromiumPath, HOSTILE_LABEL, plottedModels, pngSize, skipWithoutChromium, syntheticStudy, tempDir } from './support.js';

// The page functions below run inside Chromium; this Node program compiles without the DOM library,
// so the few browser globals they use are declared loosely, for this file only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const DOMParser: any;

interface Mark { fill: string | null; title: string; cx: number; cy: number }
interface Box { x: number; y: number; width: number; height: number }
interface Figure { plot: string; kind: string; measure: string | null; symbols: Mark[]; lines: number; lineBox: Box | null; rects: number; texts: string[] }
interface TauTd { col: string; text: string; classes: string[]; flag: boolean; ci: string | null; n: string | null }

describe('report opened in Chromium', { skip: skipWithoutChromium }, () => {
  const { dir, cleanup } = tempDir('browser');
  let data: StudyReportData;
  let files: ReportFiles;
  let browser: Browser | undefined;
  let page: Page;
  let indexUrl: string;
  const requests: string[] = [];
  const failed: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  let figures: Figure[];

  before(async () => {
    if (chromiumPath === undefined) throw new Error('Chromium is required under CI=true but is not installed');
    data = syntheticStudy({ hostileLabel: true });
    files = await writeReport(data, dir);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.on('request', (r) => { requests.push(r.url()); });
    context.on('requestfailed', (r) => { failed.push(`${r.url()}: ${r.failure()?.errorText}`); });
    page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => { pageErrors.push(String(e)); });
    indexUrl = pathToFileURL(files.indexHtml).href;
    await page.goto(indexUrl, { waitUntil: 'load' });
    figures = await page.evaluate(() => [...document.querySelectorAll('figure.plot')].map((f: any): Figure => ({
      plot: f.dataset.plot ?? '',
      kind: f.dataset.kind ?? '',
      measure: f.dataset.measure ?? null,
      // The data marks of vega's symbol marks (legend symbols are role-legend-symbol, not role-mark).
      symbols: [...f.querySelectorAll('g.mark-symbol.role-mark > path')].map((p: any) => {
        const r = p.getBoundingClientRect();
        return { fill: p.getAttribute('fill'), title: p.querySelector('title')?.textContent ?? '', cx: r.x + r.width / 2, cy: r.y + r.height / 2 };
      }),
      lines: f.querySelectorAll('g.mark-line.role-mark > path').length,
      lineBox: ((b: any) => (b ? { x: b.x, y: b.y, width: b.width, height: b.height } : null))(
        f.querySelector('g.mark-line.role-mark > path')?.getBoundingClientRect()),
      rects: f.querySelectorAll('g.mark-rect.role-mark > path').length,
      texts: [...f.querySelectorAll('g.mark-text.role-mark > text')].map((t: any) => t.textContent ?? ''),
    })));
  });

  after(async () => {
    await browser?.close();
    cleanup();
  });

  test('one mark per model with a finite value in each scatter plot, coloured by defense, placed by the data', () => {
    const scatters = figures.filter((f) => f.kind === 'measure-scatter');
    assert.deepEqual(scatters.map((f) => f.measure), data.measures.map((m) => m.name));
    const fillOfDefense = new Map<string, string>();
    for (const fig of scatters) {
      const expected = plottedModels(data, fig.measure!);
      assert.ok(expected.length < data.models.length || fig.measure !== 'spectral-norm-product', 'the data has missing values');
      assert.equal(fig.symbols.length, expected.length, `${fig.measure}: marks`);
      const byLabel = new Map(expected.map((m) => [m.label, m]));
      const seen = fig.symbols.map((s) => s.title.split('\n')[0]);
      assert.deepEqual([...seen].sort(), [...byLabel.keys()].sort(), `${fig.measure}: each mark is one plotted model`);
      for (const s of fig.symbols) {
        const model = byLabel.get(s.title.split('\n')[0])!;
        assert.ok(s.fill, 'mark has a fill');
        const known = fillOfDefense.get(model.defense);
        if (known === undefined) fillOfDefense.set(model.defense, s.fill!);
        else assert.equal(s.fill, known, `${fig.measure}: ${model.defense} has one colour in every plot`);
      }
      // Placement: x grows with the measure, y (downwards on screen) falls as the gap grows.
      const pairs = fig.symbols.map((s) => ({ s, m: byLabel.get(s.title.split('\n')[0])! }));
      const byValue = [...pairs].sort((a, b) => a.m.measures[fig.measure!] - b.m.measures[fig.measure!]);
      for (let i = 1; i < byValue.length; i++) assert.ok(byValue[i].s.cx >= byValue[i - 1].s.cx - 0.01, `${fig.measure}: x order`);
      const byGap = [...pairs].sort((a, b) => a.m.gap - b.m.gap);
      for (let i = 1; i < byGap.length; i++) assert.ok(byGap[i].s.cy <= byGap[i - 1].s.cy + 0.01, `${fig.measure}: y order`);
    }
    assert.deepEqual([...fillOfDefense.keys()].sort(), [...data.defenses].sort());
    assert.equal(new Set(fillOfDefense.values()).size, data.defenses.length, 'distinct colours per defense');
  });

  test('train vs test accuracy: one mark per model and the y = x line; heat-map: one cell per τ', () => {
    const acc = figures.find((f) => f.kind === 'robust-accuracy')!;
    assert.equal(acc.symbols.length, data.models.length);
    assert.equal(acc.lines, 1);
    const byLabel = new Map(data.models.map((m) => [m.label, m]));
    const pairs = acc.symbols.map((s) => ({ s, m: byLabel.get(s.title.split('\n')[0])! }));
    assert.ok(pairs.every((p) => p.m !== undefined));
    const byTrain = [...pairs].sort((a, b) => a.m.trainRobustAccuracy - b.m.trainRobustAccuracy);
    for (let i = 1; i < byTrain.length; i++) assert.ok(byTrain[i].s.cx >= byTrain[i - 1].s.cx - 0.01, 'x is train accuracy');
    const byTest = [...pairs].sort((a, b) => a.m.testRobustAccuracy - b.m.testRobustAccuracy);
    for (let i = 1; i < byTest.length; i++) assert.ok(byTest[i].s.cy <= byTest[i - 1].s.cy + 0.01, 'y is test accuracy');
    // The dashed line runs from the bottom-left to the top-right corner of its box; every model with a
    // positive gap lies below it (larger screen y than the line at the same x).
    const box = acc.lineBox!;
    assert.ok(Math.abs(box.width - box.height) < 1, 'square plot: the diagonal is y = x');
    for (const { s, m } of pairs) {
      const lineY = box.y + box.height - (s.cx - box.x) * (box.height / box.width);
      assert.ok(m.gap <= 0 || s.cy > lineY, `${m.label} lies below y = x`);
    }
    const heat = figures.find((f) => f.kind === 'tau-heatmap')!;
    const finite = data.tau.flatMap((r) => [r.overall, ...Object.values(r.perDefense)]).filter((c) => Number.isFinite(c.tau));
    assert.equal(heat.rects, finite.length);
    assert.deepEqual([...heat.texts].sort(), finite.map((c) => (c.tau > 0 ? '+' : '-') + Math.abs(c.tau).toFixed(2)).sort());
  });

  test('the τ table shows the τ values, intervals, signs and disagreements given', async () => {
    const rows = await page.evaluate(() => [...document.querySelectorAll('#tau-table tbody tr')].map((tr: any): { measure: string; cells: TauTd[] } => ({
      measure: tr.dataset.measure ?? '',
      cells: [...tr.querySelectorAll('td[data-col]')].map((td: any) => ({
        col: td.dataset.col ?? '', text: td.querySelector('.v')?.textContent ?? '', classes: [...td.classList],
        flag: td.querySelector('.flag') !== null, ci: td.querySelector('.ci')?.textContent ?? null, n: td.querySelector('.n')?.textContent ?? null,
      })),
    })));
    assert.deepEqual(rows.map((r) => r.measure), data.tau.map((r) => r.measure));
    const shownNumber = (s: string) => Number(s.replace('−', '-'));
    let flags = 0;
    for (const row of data.tau) {
      const measure = data.measures.find((m) => m.name === row.measure)!;
      const shown = rows.find((r) => r.measure === row.measure)!;
      const expectedCols = ['overall', ...data.defenses.map((d) => `defense:${d}`), ...data.axes.map((a) => `axis:${a}`), 'psi'];
      assert.deepEqual(shown.cells.map((c) => c.col), expectedCols);
      const expectTau = (td: TauTd, tau: number, interval?: { low: number; high: number; n: number }) => {
        const where = `${row.measure} ${td.col}`;
        if (!Number.isFinite(tau)) { assert.equal(td.text, '—', where); return; }
        assert.ok(Math.abs(shownNumber(td.text) - tau) <= 0.0005 + 1e-12, `${where}: shows ${td.text} for ${tau}`);
        assert.ok(td.classes.includes(tau > 0 ? 'pos' : 'neg'), `${where}: sign class`);
        // The paper's direction +1 means "larger value ↔ smaller gap", i.e. τ(measure, gap) < 0 expected.
        const disagrees = measure.direction !== 0 && Math.sign(tau) === measure.direction;
        assert.equal(td.flag, disagrees, `${where}: disagreement mark`);
        if (disagrees) flags++;
        if (interval) {
          if (Number.isFinite(interval.low)) {
            const [lo, hi] = (td.ci ?? '').replace(/[[\]]/g, '').split(',').map((s) => shownNumber(s.trim()));
            assert.ok(Math.abs(lo - interval.low) <= 0.005 + 1e-12 && Math.abs(hi - interval.high) <= 0.005 + 1e-12, `${where}: interval ${td.ci}`);
          } else {
            assert.equal(td.ci, null, `${where}: no interval shown when not computed`);
          }
          assert.equal(td.n, `n = ${interval.n}`);
        }
      };
      const cell = (col: string) => shown.cells.find((c) => c.col === col)!;
      expectTau(cell('overall'), row.overall.tau, row.overall);
      for (const d of data.defenses) expectTau(cell(`defense:${d}`), row.perDefense[d].tau, row.perDefense[d]);
      for (const a of data.axes) expectTau(cell(`axis:${a}`), row.granulated[a]);
      expectTau(cell('psi'), row.granulatedMean);
    }
    assert.ok(flags > 0, 'the synthetic data has disagreements to show');
  });

  test('no request but the page itself, no console error, no script, markup in labels shown as text', async () => {
    assert.deepEqual(requests, [indexUrl]);
    assert.deepEqual(failed, []);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(pageErrors, []);
    const dom = await page.evaluate(() => ({
      pwned: window.__pwned as number | undefined,
      scripts: document.scripts.length as number,
      images: document.images.length as number,
      title: document.title as string,
      h1Children: document.querySelector('h1').children.length as number,
      labels: [...document.querySelectorAll('#models-table td.label')].map((td: any) => td.textContent as string),
      noteBold: document.querySelectorAll('.notes b').length as number,
    }));
    assert.equal(dom.pwned, undefined);
    assert.equal(dom.scripts, 0);
    assert.equal(dom.images, 0);
    assert.equal(dom.title, data.title);
    assert.equal(dom.h1Children, 0);
    assert.equal(dom.noteBold, 0);
    assert.deepEqual(dom.labels, data.models.map((m) => m.label));
    assert.ok(dom.labels.includes(HOSTILE_LABEL));
    const hostileMarks = figures.flatMap((f) => f.symbols).filter((s) => s.title.split('\n')[0] === HOSTILE_LABEL);
    assert.ok(hostileMarks.length >= 4, 'the hostile label is a plain hover title in the plots');
  });

  test('every plots/*.svg parses as SVG in the browser; a full-page screenshot is a real PNG', async () => {
    const svgs = readdirSync(join(dir, 'plots')).filter((f) => f.endsWith('.svg'));
    assert.equal(svgs.length, files.plots.length);
    for (const name of svgs) {
      const text = readFileSync(join(dir, 'plots', name), 'utf8');
      const parsed = await page.evaluate((t) => {
        const doc = new DOMParser().parseFromString(t, 'image/svg+xml');
        return { root: doc.documentElement.nodeName as string, errors: doc.getElementsByTagName('parsererror').length as number };
      }, text);
      assert.deepEqual(parsed, { root: 'svg', errors: 0 }, name);
    }
    const shot = join(dir, 'screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    const size = pngSize(readFileSync(shot));
    assert.equal(size.width, 1280);
    assert.ok(size.height > 900, 'the full page is taller than the viewport');
    assert.ok(statSync(shot).size > 50_000, 'a page with plots and tables is not a blank image');
  });
});
