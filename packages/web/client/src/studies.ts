// The study explorer: Kendall τ of every measure with the robust generalization gap (overall, per
// defense, granulated per axis), the scatter plot of gap vs a measure coloured by defense (the
// report's own Vega-Lite spec), train vs test robust accuracy, filters by axis value, and a click on
// a point opens its run.
import { $, api, el, embed, fmt, option, select, showError, showTokenState } from './common.js';

interface Listing { storeId: string; store: string; name: string; description: string; dataset: string; counts: Record<string, number>; axes: string[]; axisValues: Record<string, string[]> }
interface TauCell { tau: number | null; low: number | null; high: number | null; n: number }
interface TauRow { measure: string; overall: TauCell; perDefense: Record<string, TauCell>; granulated: Record<string, number | null>; granulatedMean: number | null }
interface Measure { name: string; family: string; unit: string; description: string }
interface View {
  listing: Listing; measure: string | null; scatter: object | null; robustAccuracy: object;
  data: { models: { id: string }[]; measures: Measure[]; tau: TauRow[]; defenses: string[]; axes: string[]; notes?: string[] };
}

let studies: Listing[] = [];
let loading = 0;

function current(): Listing | undefined {
  const [storeId, name] = select('study').value.split('/');
  return studies.find((s) => s.storeId === storeId && s.name === decodeURIComponent(name ?? ''));
}

function renderFilters(l: Listing): void {
  const box = $('filters');
  box.replaceChildren(...l.axes.map((axis) => el('fieldset', { 'data-axis': axis }, el('legend', {}, axis),
    ...l.axisValues[axis]!.map((v) => {
      const cb = el('input', { type: 'checkbox', value: v, 'data-axis': axis });
      cb.checked = true;
      cb.addEventListener('change', () => void load());
      return el('label', {}, cb, ` ${v}`);
    }))));
  if (l.axes.length === 0) box.replaceChildren(el('p', { class: 'note' }, 'This study varies no axis: nothing to filter.'));
}

function filterQuery(): string {
  const parts: string[] = [];
  for (const fs of $('filters').querySelectorAll<HTMLFieldSetElement>('fieldset[data-axis]')) {
    const boxes = [...fs.querySelectorAll<HTMLInputElement>('input[type=checkbox]')];
    if (boxes.every((b) => b.checked)) continue;
    for (const b of boxes.filter((x) => x.checked)) parts.push(`f=${encodeURIComponent(`${fs.dataset.axis}=${b.value}`)}`);
    // Nothing checked on an axis: a value no run has, so that the view is empty rather than unfiltered.
    if (!boxes.some((b) => b.checked)) parts.push(`f=${encodeURIComponent(`${fs.dataset.axis}=`)}`);
  }
  return parts.join('&');
}

const tauText = (c: TauCell | undefined) => (c && c.tau !== null ? `${fmt(c.tau, 3)}${c.low !== null && c.high !== null ? ` [${fmt(c.low, 2)}, ${fmt(c.high, 2)}]` : ''}` : '–');

function renderTau(v: View): void {
  const defenses = v.data.defenses;
  const axes = v.data.axes;
  const head = el('tr', {}, el('th', {}, 'measure'), el('th', {}, 'τ overall [95 % CI]'),
    ...defenses.map((d) => el('th', {}, `τ ${d}`)), ...axes.map((a) => el('th', {}, `ψ ${a}`)), el('th', {}, 'Ψ mean'), el('th', {}, 'n'));
  $('tau-table').querySelector('thead')!.replaceChildren(head);
  $('tau-table').querySelector('tbody')!.replaceChildren(...v.data.tau.map((r) => {
    const tr = el('tr', { 'data-measure': r.measure, ...(r.measure === v.measure ? { 'aria-selected': 'true' } : {}) },
      el('td', {}, el('a', { href: '#', 'data-measure': r.measure }, r.measure)), el('td', {}, tauText(r.overall)),
      ...defenses.map((d) => el('td', {}, tauText(r.perDefense[d]))),
      ...axes.map((a) => el('td', {}, fmt(r.granulated[a], 3))), el('td', {}, fmt(r.granulatedMean, 3)), el('td', {}, String(r.overall.n)));
    tr.querySelector('a')!.addEventListener('click', (e) => {
      e.preventDefault();
      select('measure').value = r.measure;
      void load();
    });
    return tr;
  }));
}

function openRun(l: Listing, modelId: unknown): void {
  if (typeof modelId !== 'string') return;
  const runId = modelId.split('/')[0]!;
  location.href = `/runs#run=${encodeURIComponent(`s:${l.storeId}:${encodeURIComponent(l.name)}:${runId}`)}`;
}

async function load(): Promise<void> {
  const l = current();
  if (!l) return;
  const ticket = ++loading;
  const measure = select('measure').value;
  const q = `store=${l.storeId}&study=${encodeURIComponent(l.name)}${measure ? `&measure=${encodeURIComponent(measure)}` : ''}${filterQuery() ? `&${filterQuery()}` : ''}`;
  let v: View;
  try {
    v = await api<View>(`/api/study?${q}`);
  } catch (e) {
    return showError((e as Error).message);
  }
  if (ticket !== loading) return;
  showError(null);
  $('study-body').hidden = false;
  const m = select('measure');
  if (m.options.length !== v.data.measures.length) m.replaceChildren(...v.data.measures.map((x) => option(x.name, `${x.name} (${x.family})`)));
  if (v.measure) m.value = v.measure;
  renderTau(v);
  $('study-notes').replaceChildren(...(v.data.notes ?? []).map((n) => el('li', {}, n)));
  const body = $('study-body');
  body.dataset.models = String(v.data.models.length);
  body.dataset.measure = v.measure ?? '';
  if (v.scatter) {
    const view = await embed($('chart-scatter'), v.scatter);
    view.addEventListener('click', (_e, item) => openRun(l, item?.datum?.id));
  } else {
    $('chart-scatter').replaceChildren(el('p', { class: 'note' }, 'No measure to plot.'));
  }
  const acc = await embed($('chart-robust'), v.robustAccuracy);
  acc.addEventListener('click', (_e, item) => openRun(l, item?.datum?.id));
  if (ticket === loading) body.dataset.loaded = String(Number(body.dataset.loaded ?? '0') + 1);
}

async function main(): Promise<void> {
  showTokenState();
  studies = await api<Listing[]>('/api/studies');
  if (studies.length === 0) {
    $('study-description').textContent = 'No study stores found: robusta study run SPEC --dir runs/studies/NAME writes one (or pass --store FILE).';
    document.body.dataset.ready = 'true';
    return;
  }
  const want = /(?:^|[#&])study=([^&]+)/.exec(location.hash)?.[1];
  select('study').replaceChildren(...studies.map((s) => option(`${s.storeId}/${encodeURIComponent(s.name)}`, `${s.name} — ${s.store}`,
    want !== undefined && decodeURIComponent(want) === s.name)));
  const onStudy = () => {
    const l = current()!;
    const c = l.counts;
    $('study-counts').textContent = `${c.done} of ${c.total} runs done${c.running ? `, ${c.running} running` : ''}${c.failed ? `, ${c.failed} failed` : ''} · ${l.dataset}`;
    $('study-description').textContent = l.description;
    select('measure').replaceChildren();
    renderFilters(l);
    return load();
  };
  select('study').addEventListener('change', () => void onStudy());
  select('measure').addEventListener('change', () => void load());
  await onStudy();
  document.body.dataset.ready = 'true';
}

main().catch((e: Error) => showError(e.message));
