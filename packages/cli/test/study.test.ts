// robusta study end to end on the tiny spec (studies/tiny.yaml), as a user runs it: an uninterrupted
// run; a run killed with kill -9 while a run is training, then run again, which must end with the same
// store contents (measures bit for bit, checkpoints by sha256, per-epoch metrics); an edited spec that
// keeps the old runs; bad specs and stores rejected with messages that name the line; the report.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { storeSnapshot } from './study-support.js';
import { study } from 'robusta';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const tinySpec = fileURLToPath(new URL('../../../../studies/tiny.yaml', import.meta.url));

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const snapshot = (location: string) => storeSnapshot(location);

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * Opens the study's report in headless Chromium and checks the plots as rendered: every scatter plot
 * and the accuracy plot show one data mark per model, and the τ table has a row per measure.
 */
async function checkReportInBrowser(indexHtml: string, models: number): Promise<void> {
  if (!chromiumPath) {
    if (process.env.CI === 'true') throw new Error('Chromium is required under CI=true but is not installed');
    console.log('# report not opened in a browser: Chromium is not installed (apt-get install chromium)');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(indexHtml).href, { waitUntil: 'load' });
    // Page code as strings: this package compiles without the DOM library.
    const figures = await page.evaluate(`[...document.querySelectorAll('figure.plot')].map((f) => ({
      kind: f.dataset.kind ?? '', measure: f.dataset.measure ?? '', marks: f.querySelectorAll('g.mark-symbol.role-mark > path').length,
    }))`) as { kind: string; measure: string; marks: number }[];
    const rows = await page.evaluate(`document.querySelectorAll('#tau-table tbody tr').length`) as number;
    const scatter = figures.filter((f) => f.measure !== '');
    assert.ok(scatter.length >= 10, `only ${scatter.length} scatter plots rendered`);
    for (const name of ['clean-loss', 'adv-loss', 'output-margin-clean', 'input-grad-l2-adv']) {
      const f = scatter.find((x) => x.measure === name);
      assert.equal(f?.marks, models, `scatter plot of ${name}: ${f?.marks} marks for ${models} models`);
    }
    assert.ok(figures.some((f) => f.marks === models && f.measure === ''), 'the train vs test robust accuracy plot lacks its points');
    assert.equal(rows, scatter.length, 'a τ table row per plotted measure');
  } finally {
    await browser.close();
  }
}

/** Pids of the processes whose command line mentions `text` (Linux /proc). */
function processesUsing(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('robusta study: a run killed with kill -9 and resumed ends with the store of an uninterrupted run', { timeout: 900_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-study-'));
  try {
    const a = cli(['study', 'run', tinySpec, '--dir', join(root, 'a'), '--json']);
    assert.equal(a.status, 0, a.stderr);
    const summary = JSON.parse(a.stdout) as { counts: study.StatusCounts };
    assert.deepEqual(summary.counts, { pending: 0, running: 0, done: 4, failed: 0, total: 4 });
    const uninterrupted = await snapshot(join(root, 'a', 'store.sqlite'));
    assert.equal(uninterrupted.artifacts.length, 12, 'init, best and last of 4 runs');
    assert.ok(uninterrupted.measurements.length >= 8 * 5, 'at least the gap measures of 8 models');

    // Kill the whole command while some run is mid-training (it has an epoch recorded but is not done).
    const storeB = join(root, 'b', 'store.sqlite');
    let interrupted = false;
    for (let attempt = 0; attempt < 3 && !interrupted; attempt++) {
      rmSync(join(root, 'b'), { recursive: true, force: true });
      const child = spawn(process.execPath, [main, 'study', 'run', tinySpec, '--dir', join(root, 'b'), '--json'], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r));
      for (let i = 0; i < 3000 && child.exitCode === null; i++) {
        await sleep(10);
        let midRun = false;
        try {
          const store = study.openStore(storeB);
          try {
            const runs = await store.runs('tiny').catch(() => []);
            for (const r of runs) {
              if (r.status === 'running' && (await store.epochs('tiny', r.id)).length >= 1) midRun = true;
            }
          } finally {
            await store.close();
          }
        } catch {
          // the store is being created
        }
        if (midRun) {
          child.kill('SIGKILL');
          interrupted = true;
          break;
        }
      }
      await exited;
    }
    assert.ok(interrupted, 'could not catch a run mid-training in 3 attempts');
    // The workers notice that their parent is gone (within a second, or at their next batch) and exit.
    for (let i = 0; i < 100 && processesUsing(storeB).length > 0; i++) await sleep(100);
    assert.deepEqual(processesUsing(storeB), [], 'workers outlived the killed command');
    const killed = await snapshot(storeB);
    assert.ok(killed.statuses.some((s) => s.endsWith('=running')), `the kill left no run mid-way: ${killed.statuses.join(', ')}`);
    const b = cli(['study', 'run', tinySpec, '--dir', join(root, 'b'), '--json']);
    assert.equal(b.status, 0, b.stderr);
    const resumed = JSON.parse(b.stdout) as { reclaimed: number; sync: study.SyncResult };
    assert.ok(resumed.reclaimed >= 1, `the interrupted run was not reclaimed from its dead worker: ${killed.statuses.join(', ')} → ${b.stdout}`);
    assert.deepEqual(resumed.sync, { added: 0, kept: 4, retired: 0 });
    assert.deepEqual(await snapshot(storeB), uninterrupted);

    // An edited spec keeps the finished runs and adds the new ones only.
    const edited = join(root, 'edited.yaml');
    writeFileSync(edited, readFileSync(tinySpec, 'utf8').replace('seed: [0, 1]', 'seed: [0, 1, 2]'));
    const c = cli(['study', 'run', edited, '--dir', join(root, 'a'), '--json']);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual((JSON.parse(c.stdout) as { sync: study.SyncResult }).sync, { added: 2, kept: 4, retired: 0 });
    const after = await snapshot(join(root, 'a', 'store.sqlite'));
    for (const line of uninterrupted.measurements) assert.ok(after.measurements.includes(line), `lost ${line}`);
    assert.equal(after.statuses.length, 6);

    // Status and report.
    const st = cli(['study', 'status', join(root, 'a', 'store.sqlite'), '--json']);
    assert.equal(st.status, 0, st.stderr);
    assert.deepEqual((JSON.parse(st.stdout) as { counts: study.StatusCounts }).counts, { pending: 0, running: 0, done: 6, failed: 0, total: 6 });
    const rep = cli(['study', 'report', storeB, '--out', join(root, 'report'), '--bootstrap', '200', '--json']);
    assert.equal(rep.status, 0, rep.stderr);
    const tau = JSON.parse(rep.stdout) as { files: unknown };
    assert.ok(tau.files, 'report files listed');
    assert.match(readFileSync(join(root, 'report', 'index.html'), 'utf8'), /<svg/);
    await checkReportInBrowser(join(root, 'report', 'index.html'), 8);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('robusta study: bad specs and stores are rejected with the line they come from', () => {
  const root = mkdtempSync(join(tmpdir(), 'robusta-study-bad-'));
  try {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, readFileSync(tinySpec, 'utf8').replace('defense: [standard, at]', 'defense: [standard, att]\n  width: [1, 2]'));
    const r = cli(['study', 'run', bad, '--dir', join(root, 'x')]);
    assert.equal(r.status, 1);
    const lines = readFileSync(bad, 'utf8').split('\n');
    const defenseLine = lines.findIndex((l) => l.includes('att]')) + 1;
    const widthLine = lines.findIndex((l) => l.includes('width')) + 1;
    assert.match(r.stderr, new RegExp(`bad\\.yaml:${defenseLine}:\\d+: axes\\.defense\\[1\\]: unknown defense "att"`));
    assert.match(r.stderr, new RegExp(`bad\\.yaml:${widthLine}:\\d+: axes: unknown axis 'width'`));
    writeFileSync(bad, 'name: x\ndataset: mnist\naxes: {defense: [at]\n');
    assert.match(cli(['study', 'run', bad]).stderr, /bad\.yaml:4:1: /);
    writeFileSync(bad, 'name: x\ndataset: mnist\nmeasures: [clean-loss, no-such-measure]\n');
    assert.match(cli(['study', 'run', bad]).stderr, /bad\.yaml:3:24: measures\[1\]: unknown measure "no-such-measure" \(known: .*robust-gap/);
    assert.match(cli(['study', 'run', join(root, 'missing.yaml')]).stderr, /missing\.yaml: cannot read the spec \(ENOENT\)/);
    const corrupt = join(root, 'store.sqlite');
    copyFileSync(bad, corrupt);
    const s = cli(['study', 'status', corrupt]);
    assert.equal(s.status, 1);
    assert.match(s.stderr, /StoreError: cannot open the study store .*store\.sqlite: file is not a database/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
