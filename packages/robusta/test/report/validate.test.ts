// The schema check of chart specs: every chart the report makes satisfies Vega-Lite's own schema, and
// a broken spec fails with the bad path and its line in the pretty-printed spec. The line is checked
// against the text itself (the named line must hold the bad member), so an off-by-one line map, a
// report of the shallow anyOf noise instead of the mistake, or a check that lets anything pass fail here.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { TopLevelSpec } from 'vega-lite';
import { prettyJson, reportCharts, SpecValidationError, validateSpec } from '../../src/report/index.js';
import { syntheticStudy } from './support.js';

const base = (): Record<string, any> => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'broken on purpose',
  data: { values: [{ a: 1, b: 2, d: 'at' }, { a: 2, b: 1, d: 'trades' }] },
  mark: { type: 'point', filled: true },
  encoding: {
    x: { field: 'a', type: 'quantitative' },
    y: { field: 'b', type: 'quantitative' },
    color: { field: 'd', type: 'nominal' },
  },
});

/** Runs validateSpec expecting a failure; returns the error and the pretty-printed lines. */
function failure(spec: Record<string, any>): { error: SpecValidationError; lines: string[] } {
  let caught: unknown;
  try { validateSpec(spec as TopLevelSpec, 'broken'); } catch (e) { caught = e; }
  assert.ok(caught instanceof SpecValidationError, `expected a SpecValidationError, got ${String(caught)}`);
  return { error: caught, lines: JSON.stringify(spec, null, 2).split('\n') };
}

test('a valid spec passes and comes back normalised', () => {
  const spec = base();
  spec.encoding.x.title = undefined; // dropped by the JSON round trip, not reported as an error
  const out = validateSpec(spec as TopLevelSpec) as Record<string, any>;
  assert.equal('title' in out.encoding.x, false);
  assert.deepEqual(out.data, spec.data);
});

test('a wrong encoding type names /encoding/x/type and its line', () => {
  const spec = base();
  spec.encoding.x.type = 'quantitativ';
  const { error, lines } = failure(spec);
  const m = /spec line (\d+) \(\/encoding\/x\/type\): must be equal to one of the allowed values/.exec(error.message);
  assert.ok(m, error.message);
  assert.match(lines[Number(m[1]) - 1], /"type": "quantitativ"/);
  assert.match(error.message, /"quantitative"/, 'lists the allowed values');
  assert.equal(error.problems[0].pointer, '/encoding/x/type');
  assert.equal(error.specText, lines.join('\n'));
});

test('a misspelled property names the property and its own line', () => {
  const spec = base();
  spec.encoding.y = { feild: 'b', type: 'quantitative' };
  const { error, lines } = failure(spec);
  const m = /spec line (\d+) \(\/encoding\/y\/feild\)/.exec(error.message);
  assert.ok(m, error.message);
  assert.match(lines[Number(m[1]) - 1], /"feild": "b"/);
});

test('a wrong mark and a wrong value deep in an array are located', () => {
  const spec = base();
  spec.mark.type = 'pointz';
  let { error, lines } = failure(spec);
  let m = /spec line (\d+) \(\/mark\/type\)/.exec(error.message);
  assert.ok(m, error.message);
  assert.match(lines[Number(m[1]) - 1], /"pointz"/);

  const layered = {
    $schema: base().$schema, data: base().data,
    layer: [{ mark: 'point', encoding: base().encoding }, { mark: 'line', encoding: { x: { field: 'a', type: 'quantitative' }, strokeDash: { value: 'dashed' } } }],
  };
  ({ error, lines } = failure(layered));
  m = /spec line (\d+) \(\/layer\/1\/encoding\/strokeDash\/value\)/.exec(error.message);
  assert.ok(m, error.message);
  assert.match(lines[Number(m[1]) - 1], /"value": "dashed"/);
});

test('prettyJson matches JSON.stringify(·, null, 2) and maps every member to its line', () => {
  for (const chart of reportCharts(syntheticStudy({ hostileLabel: true }))) {
    const pretty = prettyJson(chart.spec);
    const lines = JSON.stringify(chart.spec, null, 2).split('\n');
    assert.equal(pretty.text, lines.join('\n'), chart.name);
    const encoding = pretty.lineOf.get('/encoding') ?? pretty.lineOf.get('/layer/0/encoding');
    assert.ok(encoding !== undefined && /^\s*"encoding": \{/.test(lines[encoding - 1]), chart.name);
    assert.match(lines[pretty.lineOf.get('/data')! - 1] ?? lines[pretty.lineOf.get('/layer/0/data')! - 1], /"data"/);
  }
  const odd = prettyJson({ 'a/b': { '~k': [1, [], {}, 'x'] } });
  assert.equal(odd.text, JSON.stringify({ 'a/b': { '~k': [1, [], {}, 'x'] } }, null, 2));
  assert.equal(odd.lineOf.get('/a~1b/~0k/3'), 7);
});

test('every chart of a report satisfies the Vega-Lite schema', () => {
  const charts = reportCharts(syntheticStudy({ hostileLabel: true }));
  assert.deepEqual(charts.map((c) => c.kind), ['measure-scatter', 'measure-scatter', 'measure-scatter', 'measure-scatter', 'robust-accuracy', 'tau-heatmap']);
  for (const c of charts) validateSpec(c.spec, c.name);
});
