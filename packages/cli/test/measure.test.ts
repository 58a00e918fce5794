// robusta measure as a user runs it: a checkpoint written by robusta train, every cheap measure as
// JSON, equal to the library's computeMeasures on the same weights and settings (init.pt found beside
// the weights); bad input named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { data, io, measures, models } from 'robusta';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ROBUSTA_NUM_THREADS: '1' } });

test('robusta measure --json equals computeMeasures on the same checkpoint', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-measure-'));
  try {
    const t = cli(['train', '--model', 'mnist-mlp', '--defense', 'at', '--eps', '0.1', '--alpha', '0.05', '--steps', '2', '--epochs', '1',
      '--n-train', '256', '--batch-size', '64', '--lr', '0.05', '--eval-n', '64', '--out', dir]);
    assert.equal(t.status, 0, t.stderr);
    const r = cli(['measure', '--model', 'mnist-mlp', '--weights', join(dir, 'last.pt'), '--measures', 'cheap', '--n', '64',
      '--batch-size', '32', '--eps', '0.1', '--steps', '3', '--seed', '2', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as measures.MeasurementReport;
    const names = measures.selectMeasures('cheap').map((m) => m.name);
    assert.deepEqual(out.measures.map((m) => m.name), names);
    const net = models.createModel('mnist-mlp');
    const state = io.loadStateDict(join(dir, 'last.pt'));
    const init = io.loadStateDict(join(dir, 'init.pt'));
    net.loadStateDict(state);
    const [train, testSet] = [data.loadMnist('train'), data.loadMnist('test')];
    const lib = measures.computeMeasures(net, { train, test: testSet }, {
      measures: 'cheap', n: 64, batchSize: 32, seed: 2, attack: { eps: 0.1, steps: 3 }, initialState: init,
    });
    for (const m of lib.measures) {
      const got = out.measures.find((x) => x.name === m.name)!;
      assert.ok(Number.isFinite(m.value), `${m.name}: ${m.error}`);
      assert.equal(got.value, m.value, m.name);
    }
    assert.ok(out.measures.every((m) => m.seconds >= 0));
    for (const t of [...state.values(), ...init.values()]) t.dispose();
    net.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('robusta measure: bad input is named', () => {
  const unknown = cli(['measure', '--random-weights', '--measures', 'clean-loss,flatnes']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown measure 'flatnes' \(known: clean-loss, /);
  const missing = cli(['measure', '--weights', '/nonexistent/w.pt']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--weights: no such file \/nonexistent\/w\.pt/);
  const list = cli(['measure', '--list']);
  assert.equal(list.status, 0);
  for (const m of measures.listMeasures()) assert.match(list.stdout, new RegExp(`^${m.name} `, 'm'));
});
