// writeReport without a browser: the files (valid PNGs of the SVG's size × 2 with real content, SVGs that
// resvg parses, with one data mark per plotted model), report.json round trip, nothing left under a
// temporary name, a page that loads nothing from outside and escapes user text, a schema error before
// any rendering; and the τ table as text and JSON. Broken versions caught: PNG from another scale or
// blank, marks for missing values, stray .tmp files, raw markup or external references in index.html,
// a τ/flag/column out of place in the terminal table, NaN leaking into JSON.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import {
  defenseColors, escapeHtml, type ReportFiles, renderSvg, renderTauTableText, scopeSvgIds, SpecValidationError,
  type StudyReportData, tauTableJson, writeReport,
} from '../../src/report/index.js';
import { HOSTILE_LABEL, plottedModels, pngSize, syntheticStudy, tempDir } from './support.js';

const { dir, cleanup } = tempDir('write');
let data: StudyReportData;
let files: ReportFiles;
let seconds = 0;
before(async () => {
  data = syntheticStudy({ hostileLabel: true });
  const t0 = performance.now();
  files = await writeReport(data, dir);
  seconds = (performance.now() - t0) / 1000;
});
after(cleanup);

test('the files: index.html, report.json, an SVG and a PNG per chart, nothing half-written left', () => {
  assert.deepEqual(files.plots.map((p) => p.name), [
    'scatter-input-gradient-norm', 'scatter-boundary-thickness', 'scatter-spectral-norm-product', 'scatter-average-flatness',
    'robust-accuracy', 'tau-heatmap',
  ]);
  assert.equal(files.files.at(-1), files.indexHtml, 'index.html is written last');
  assert.deepEqual(readdirSync(dir).sort(), ['index.html', 'plots', 'report.json']);
  assert.deepEqual(readdirSync(join(dir, 'plots')).sort(), files.plots.flatMap((p) => [`${p.name}.png`, `${p.name}.svg`]).sort());
  for (const p of files.plots) assert.deepEqual(p.warnings, [], `${p.name}: Vega-Lite warnings`);
  assert.ok(seconds < 30, `writeReport took ${seconds.toFixed(1)} s`);
  const back = JSON.parse(readFileSync(files.reportJson, 'utf8'));
  assert.deepEqual(back, JSON.parse(JSON.stringify(data)), 'report.json is the data (NaN as null)');
  assert.equal(back.models[5].label, HOSTILE_LABEL);
});

test('PNGs are valid, twice the SVG size, and not blank; SVGs parse', () => {
  for (const p of files.plots) {
    const svg = readFileSync(p.svg, 'utf8');
    const tree = new Resvg(svg); // throws on malformed SVG
    const bytes = readFileSync(p.png);
    const size = pngSize(bytes);
    assert.equal(size.width, Math.round(2 * tree.width), `${p.name}: width`);
    assert.equal(size.height, Math.round(2 * tree.height), `${p.name}: height`);
    assert.ok(statSync(p.png).size > 10_000, `${p.name}: ${statSync(p.png).size} bytes`);
    const png = PNG.sync.read(bytes); // full decode: CRCs and zlib stream
    let inked = 0, colored = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r < 200 || g < 200 || b < 200) inked++;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 80) colored++;
    }
    const pixels = png.width * png.height;
    assert.ok(inked / pixels > 0.01, `${p.name}: ${(100 * inked / pixels).toFixed(2)} % inked`);
    assert.ok(colored > 200, `${p.name}: coloured marks (${colored} px)`);
  }
});

test('each scatter SVG has one data mark per model with a finite value', () => {
  for (const p of files.plots.filter((x) => x.kind === 'measure-scatter')) {
    const svg = readFileSync(p.svg, 'utf8');
    const group = /<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/s.exec(svg);
    assert.ok(group, `${p.name}: a symbol mark group`);
    const marks = group[1].match(/<path [^>]*role="graphics-symbol"/g) ?? [];
    assert.equal(marks.length, plottedModels(data, p.measure!).length, p.name);
    assert.equal((group[1].match(/<title>/g) ?? []).length, marks.length, `${p.name}: a hover title per mark`);
  }
  assert.equal(plottedModels(data, 'spectral-norm-product').length, 21, 'three models have no value (NaN or absent)');
});

test('index.html: self-contained, escaped, every chart inlined', () => {
  const html = readFileSync(files.indexHtml, 'utf8');
  assert.doesNotMatch(html, /<script|<link|<iframe|<img|<object|@import|url\(\s*['"]?(?!#)/i, 'nothing that loads or runs');
  for (const m of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) {
    assert.match(m[1], /^(?:#|plots\/[\w.-]+\.(?:svg|png)$)/, `only in-page anchors and links to the plot files: ${m[1]}`);
  }
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.ok(!html.includes(HOSTILE_LABEL) && html.includes(escapeHtml(HOSTILE_LABEL)), 'the label appears only escaped');
  assert.ok(html.includes('<h1>Synthetic study &lt;i&gt;not italic&lt;/i&gt;</h1>'));
  assert.equal((html.match(/<svg /g) ?? []).length, files.plots.length);
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique across the inlined SVGs');
});

test('a spec that breaks the schema fails before rendering, naming the line', async () => {
  const spec = { data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative', scale: { type: 'logarithmic' } } } };
  const lines = JSON.stringify(spec, null, 2).split('\n');
  await assert.rejects(renderSvg(spec as never, 'bad'), (e: unknown) => {
    const m = e instanceof SpecValidationError && /invalid Vega-Lite spec "bad": spec line (\d+) \(\/encoding\/x\/scale\/type\)/.exec(e.message);
    return !!m && lines[Number(m[1]) - 1].includes('"type": "logarithmic"');
  });
});

test('scopeSvgIds keeps references inside each picture', () => {
  const svg = '<svg><defs><linearGradient id="gradient_0"/></defs><rect fill="url(#gradient_0)"/><use href="#gradient_0"/></svg>';
  assert.equal(scopeSvgIds(svg, 'p-a'), '<svg><defs><linearGradient id="p-a-gradient_0"/></defs><rect fill="url(#p-a-gradient_0)"/><use href="#p-a-gradient_0"/></svg>');
});

test('defense colours: fixed for the common methods, distinct, stable under reordering', () => {
  const a = defenseColors(['at', 'trades', 'mart', 'awp', 'custom']);
  const b = defenseColors(['custom', 'mart', 'TRADES', 'at']);
  assert.equal(a.get('at'), b.get('at'));
  assert.equal(a.get('trades'), b.get('TRADES'));
  assert.equal(a.get('mart'), b.get('mart'));
  assert.equal(new Set(a.values()).size, 5);
  assert.ok([...a.values()].every((c) => /^#[0-9a-f]{6}$/.test(c)));
});

test('the τ table as text: aligned columns, the values given, "!" where the sign disagrees with the paper', () => {
  const text = renderTauTableText(data);
  const lines = text.split('\n');
  const header = lines[0];
  assert.match(header, /^measure\s+τ\s+interval\s+n\s+τ\|at\s+τ\|trades\s+τ\|mart\s+ψ\|defense\s+ψ\|arch\s+ψ\|batch\s+ψ\|checkpoint\s+Ψ\s+paper$/);
  // Every row has its columns where the rule line puts them.
  const rule = lines[1];
  const starts = [...rule.matchAll(/-+/g)].map((m) => [m.index!, m.index! + m[0].length]);
  assert.equal(starts.length, 13);
  for (const [k, row] of data.tau.entries()) {
    const line = lines[2 + k];
    const cells = starts.map(([s, e], j) => [...line].slice(s, j === starts.length - 1 ? undefined : e).join('').trim());
    const measure = data.measures.find((m) => m.name === row.measure)!;
    assert.equal(cells[0], row.measure);
    const check = (shown: string, tau: number) => {
      if (!Number.isFinite(tau)) { assert.equal(shown, '—'); return; }
      const flagged = shown.endsWith('!');
      assert.ok(Math.abs(Number(shown.replace('!', '')) - tau) <= 0.0005 + 1e-12, `${row.measure}: ${shown} vs ${tau}`);
      assert.equal(flagged, measure.direction !== 0 && Math.sign(tau) === measure.direction, `${row.measure}: flag on ${shown}`);
    };
    check(cells[1], row.overall.tau);
    assert.equal(cells[3], String(row.overall.n));
    data.defenses.forEach((d, j) => check(cells[4 + j], row.perDefense[d].tau));
    data.axes.forEach((a, j) => check(cells[7 + j], row.granulated[a]));
    check(cells[11], row.granulatedMean);
    assert.equal(cells[12], measure.direction === 1 ? 'τ<0' : measure.direction === -1 ? 'τ>0' : '—');
  }
});

test('the τ table as JSON: NaN as null, disagreement per cell, survives JSON.stringify unchanged', () => {
  const json = tauTableJson(data);
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  assert.equal(json.models, 24);
  assert.deepEqual(json.rows.map((r) => r.measure), data.tau.map((r) => r.measure));
  const flat = json.rows[3].perDefense.mart;
  assert.deepEqual(flat, { tau: null, low: null, high: null, n: 1, disagreesWithPaper: null });
  assert.equal(json.rows[1].granulated.batch, null);
  assert.equal(json.rows[3].overall.disagreesWithPaper, null, 'no claim, no verdict');
  for (const [k, r] of json.rows.entries()) {
    const tau = data.tau[k].overall.tau;
    assert.equal(r.overall.tau, tau);
    assert.equal(r.expectedSign, -data.measures[k].direction || 0);
    if (r.direction !== 0) assert.equal(r.overall.disagreesWithPaper, Math.sign(tau) === r.direction);
  }
});

test('a study with no models yet still writes a complete report', async () => {
  const empty = tempDir('empty');
  try {
    const data: StudyReportData = {
      title: 'empty', createdAt: '2024-01-01T00:00:00Z', study: { name: 's', dataset: 'mnist' }, axes: [], defenses: [], models: [],
      measures: [{ name: 'm', family: 'f', unit: '', direction: 1, description: '' }],
      tau: [{ measure: 'm', overall: { tau: NaN, low: NaN, high: NaN, n: 0 }, perDefense: {}, granulated: {}, granulatedMean: NaN }],
    };
    const out = await writeReport(data, empty.dir);
    assert.deepEqual(out.plots.map((p) => p.name), ['scatter-m', 'robust-accuracy', 'tau-heatmap']);
    assert.ok(readFileSync(out.indexHtml, 'utf8').includes('<h1>empty</h1>'));
    assert.match(renderTauTableText(data).split('\n')[2], /^m\s+—\s+0\s+—\s+τ<0$/);
  } finally {
    empty.cleanup();
  }
});
