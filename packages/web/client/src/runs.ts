// Training runs: every run of the runs folder and of the study stores, with status; a chosen run's
// loss and accuracy per epoch and its checkpoints. Server-sent events bring changes (a new epoch of
// a run in progress) as they happen.
import { $, el, embed, fmt, replaceRows, showError, showTokenState } from './common.js';

interface Checkpoint { kind: string; ref: string; bytes: number }
interface Run {
  key: string; source: string; title: string; status: string; epochs: number; plannedEpochs: number | null;
  last: Record<string, unknown> | null; updatedAt: string | null; model: string | null; dataset: string | null; defense: string | null;
  study: { store: string; name: string; runId: string } | null; error: string | null; checkpoints: Checkpoint[];
}
interface RunView extends Run { history: Record<string, unknown>[]; charts: { loss: { data: { values: object[] } }; accuracy: { data: { values: object[] } } } }

let source: EventSource | null = null;
let shownKey: string | null = null;
let views: { loss: VegaView; accuracy: VegaView } | null = null;
let updating = Promise.resolve();

function selectedKey(): string | null {
  const m = /(?:^|[#&])run=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]!) : null;
}

function ago(iso: string | null): string {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : new Date(iso).toLocaleString();
}

function renderList(runs: Run[]): void {
  const key = selectedKey();
  const body = document.querySelector('#runs-table tbody')!;
  body.replaceChildren(...runs.map((r) => {
    const link = el('a', { href: `#run=${encodeURIComponent(r.key)}`, 'data-key': r.key }, r.title);
    const tr = el('tr', { 'data-status': r.status, ...(r.key === key ? { 'aria-selected': 'true' } : {}) },
      el('td', {}, link), el('td', { class: `status ${r.status}` }, r.status),
      el('td', {}, r.plannedEpochs ? `${r.epochs} / ${r.plannedEpochs}` : String(r.epochs)),
      el('td', {}, r.model ?? '–'), el('td', {}, r.defense ?? '–'),
      el('td', {}, fmt(r.last?.loss)), el('td', {}, fmt(r.last?.test_clean_acc)), el('td', {}, fmt(r.last?.test_pgd_acc)),
      el('td', {}, ago(r.updatedAt)));
    return tr;
  }));
  $('runs-note').textContent = runs.length === 0
    ? 'No runs yet: robusta train --out runs/NAME, or robusta study run SPEC, writes them into the runs folder.'
    : `${runs.length} runs; a folder run is active while its metrics.jsonl changed in the last two minutes.`;
}

async function renderRun(run: RunView): Promise<void> {
  $('run-detail').hidden = false;
  $('run-title').textContent = run.title;
  const meta = [`status ${run.status}`, `${run.epochs}${run.plannedEpochs ? ` of ${run.plannedEpochs}` : ''} epochs`];
  if (run.model) meta.push(`model ${run.model}`);
  if (run.dataset) meta.push(`data ${run.dataset}`);
  if (run.defense) meta.push(`defense ${run.defense}`);
  if (run.study) meta.push(`study ${run.study.name} (${run.study.store}), run ${run.study.runId}`);
  if (run.error) meta.push(`error: ${run.error}`);
  $('run-meta').textContent = meta.join(' · ');
  $('run-detail').dataset.key = run.key;
  $('run-detail').dataset.epochs = String(run.epochs);
  if (!views || shownKey !== run.key) {
    shownKey = run.key;
    views = { loss: await embed($('chart-run-loss'), run.charts.loss), accuracy: await embed($('chart-run-accuracy'), run.charts.accuracy) };
  } else {
    // A run in progress: new rows into the drawn charts.
    await replaceRows(views.loss, 'loss', run.charts.loss.data.values);
    await replaceRows(views.accuracy, 'accuracy', run.charts.accuracy.data.values);
  }
  $('run-detail').dataset.shownEpochs = String(run.epochs);
  const model = run.model ? `&model=${encodeURIComponent(run.model)}` : '';
  $('run-checkpoints').replaceChildren(...run.checkpoints.map((c) => el('li', {},
    `${c.kind} (${(c.bytes / 1024).toFixed(0)} KiB) — `,
    el('a', { href: `/?checkpoint=${encodeURIComponent(c.ref)}${model}` }, 'attack it in the playground'))));
  if (run.checkpoints.length === 0) $('run-checkpoints').replaceChildren(el('li', {}, 'none yet'));
}

function connect(): void {
  source?.close();
  const key = selectedKey();
  if (!key) $('run-detail').hidden = true;
  source = new EventSource(`/api/runs/events${key ? `?key=${encodeURIComponent(key)}` : ''}`);
  source.addEventListener('runs', (m) => renderList(JSON.parse((m as MessageEvent).data) as Run[]));
  source.addEventListener('run', (m) => {
    const run = JSON.parse((m as MessageEvent).data) as RunView;
    updating = updating.then(() => renderRun(run)).catch((e: Error) => showError(e.message));
  });
  source.onerror = () => {
    // A refused key (404) ends the stream for good: say so once.
    if (source?.readyState === EventSource.CLOSED && key) showError('this run cannot be shown (unknown run, or a path outside the runs folder)');
  };
}

showTokenState();
window.addEventListener('hashchange', connect);
connect();
document.body.dataset.ready = 'true';
