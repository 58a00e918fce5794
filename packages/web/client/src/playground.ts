// The attack playground: pick an image, a model with its weights and an attack; watch the loss at
// every model call while it runs; see original | perturbation | adversarial and the top-5 bars.
import { $, ApiError, api, appendRows, embed, fmt, input, option, select, showError, showTokenState } from './common.js';

interface Param { name: string; label: string; kind: 'number' | 'integer' | 'choice' | 'boolean'; default: number | string | boolean; choices?: string[]; help?: string }
interface AttackInfo { id: string; title: string; paper: string; params: Param[]; targeted: boolean }
interface ModelInfo { name: string; description: string; inputShape: number[]; numClasses: number; trainedOn: string }
interface Meta { attacks: AttackInfo[]; models: ModelInfo[]; trainedOn: string[]; charts: { attackLoss: object }; uploadLimits: { maxBytes: number } }
interface Checkpoint { ref: string; label: string; model: string | null; dataset: string | null }
interface TopClass { index: number; name: string; probability: number }

let meta: Meta;
let checkpoints: Checkpoint[] = [];
let uploadId: string | null = null;
let source: EventSource | null = null;
let jobId: string | null = null;

const MODES: Record<string, string> = { untargeted: 'untargeted', targeted: 'targeted (choose the class)', random: 'random target', leastLikely: 'least likely class' };

function attack(): AttackInfo {
  return meta.attacks.find((a) => a.id === select('attack').value)!;
}

function renderParams(): void {
  const a = attack();
  $('attack-paper').textContent = a.paper;
  const box = $('attack-params');
  box.replaceChildren();
  const mnistLike = meta.models.find((m) => m.name === select('model').value)?.inputShape[0] === 1;
  for (const p of a.params) {
    let field: HTMLInputElement | HTMLSelectElement;
    if (p.kind === 'choice') {
      field = document.createElement('select');
      for (const c of p.choices!) field.append(option(c, c, c === p.default));
    } else if (p.kind === 'boolean') {
      field = document.createElement('input');
      field.type = 'checkbox';
      field.checked = p.default === true;
    } else {
      field = document.createElement('input');
      field.type = 'text';
      // MNIST's usual budget is 0.1–0.3; the library's default (8/255) is CIFAR's.
      const def = p.name === 'eps' && mnistLike && p.default === 8 / 255 ? '0.1' : p.name === 'alpha' && mnistLike && p.default === 2 / 255 ? '0.01' : numberText(p.default as number);
      field.value = def;
      field.size = 8;
    }
    field.id = `param-${p.name}`;
    field.dataset.param = p.name;
    field.dataset.kind = p.kind;
    const label = document.createElement('label');
    label.append(`${p.label} `, field);
    if (p.help) label.title = p.help;
    box.append(label);
  }
  const mode = select('mode');
  const previous = mode.value;
  mode.replaceChildren(...Object.entries(MODES).filter(([k]) => k === 'untargeted' || a.targeted).map(([k, v]) => option(k, v, k === previous)));
  updateTarget();
}

/** 8/255 reads better as "8/255" than as 0.03137…. */
function numberText(v: number): string {
  const k = v * 255;
  return !Number.isInteger(v) && Math.abs(k - Math.round(k)) < 1e-9 ? `${Math.round(k)}/255` : String(v);
}

function updateTarget(): void {
  $('target-label').hidden = select('mode').value !== 'targeted';
}

function renderCheckpoints(preferred?: string): void {
  const model = select('model').value;
  const box = select('checkpoint');
  const current = preferred ?? box.value;
  const usable = checkpoints.filter((c) => c.model === null || c.model === model);
  box.replaceChildren(option('', 'random weights (seeded)'), ...usable.map((c) => option(c.ref, c.label + (c.model ? '' : ' (model not recorded)'), c.ref === current)));
}

function imageSource(): 'dataset' | 'upload' {
  return (document.querySelector('input[name=image-source]:checked') as HTMLInputElement).value as 'dataset' | 'upload';
}

async function previewImage(): Promise<void> {
  const img = $('img-original') as HTMLImageElement;
  if (imageSource() === 'upload') return;
  const ds = select('dataset').value, index = Number(input('image-index').value);
  try {
    const d = await api<{ label: number; className: string; count: number }>(`/api/datasets/${ds}/${index}`);
    img.src = `/api/datasets/${ds}/${index}/image.png`;
    $('image-note').textContent = `${ds} test image ${index} of ${d.count}: label ${d.label} (${d.className})`;
    showError(null);
  } catch (e) {
    showError((e as Error).message);
  }
}

async function upload(file: File): Promise<void> {
  uploadId = null;
  try {
    const r = await api<{ id: string; width: number; height: number; format: string }>('/api/uploads', {
      method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' },
    });
    uploadId = r.id;
    ($('img-original') as HTMLImageElement).src = URL.createObjectURL(file);
    $('image-note').textContent = `uploaded ${r.format.toUpperCase()} ${r.width} × ${r.height}: resized and center-cropped to the model's input, attacked away from the model's own prediction`;
    showError(null);
  } catch (e) {
    showError(`upload refused: ${(e as Error).message}`);
  }
}

function params(): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const f of $('attack-params').querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-param]')) {
    out[f.dataset.param!] = f.dataset.kind === 'boolean' ? (f as HTMLInputElement).checked : f.value;
  }
  return out;
}

function setRunning(running: boolean): void {
  (input('run-attack') as unknown as HTMLButtonElement).disabled = running;
  (input('cancel-attack') as unknown as HTMLButtonElement).disabled = !running;
  document.body.dataset.attack = running ? 'running' : 'idle';
}

function labelText(top: TopClass): string {
  return `${top.index}: ${top.name} (${(top.probability * 100).toFixed(1)} %)`;
}

async function run(ev: Event): Promise<void> {
  ev.preventDefault();
  showError(null);
  const image = imageSource() === 'upload'
    ? (uploadId ? { upload: uploadId } : null)
    : { dataset: select('dataset').value, index: Number(input('image-index').value) };
  if (!image) return showError('choose an image file to upload first');
  const body = {
    model: select('model').value, trainedOn: select('trained-on').value, checkpoint: select('checkpoint').value || null,
    seed: Number(input('seed').value), image, attack: select('attack').value, params: params(), mode: select('mode').value,
    target: select('mode').value === 'targeted' ? Number(input('target').value) : null,
  };
  let started: { id: string; events: string };
  try {
    started = await api('/api/attacks', { method: 'POST', json: body });
  } catch (e) {
    const err = e as ApiError;
    $('attack-status').textContent = err.code === 'busy' ? 'busy' : 'refused';
    return showError(err.code === 'busy' ? `Busy: ${err.message}` : err.message);
  }
  jobId = started.id;
  for (const id of ['img-perturbation', 'img-adversarial']) ($(id) as HTMLImageElement).removeAttribute('src');
  for (const id of ['adv-label', 'perturbation-note', 'summary', 'clean-label']) $(id).textContent = '';
  $('download').hidden = true;
  $('chart-after').replaceChildren();
  document.body.dataset.result = '';
  setRunning(true);
  $('attack-status').textContent = 'starting…';
  const lossView = await embed($('chart-loss'), meta.charts.attackLoss);
  let lossQueue = Promise.resolve();
  source?.close();
  source = new EventSource(started.events);
  const base = `/api/attacks/${started.id}`;
  source.addEventListener('status', (m) => { $('attack-status').textContent = JSON.parse((m as MessageEvent).data).text; });
  source.addEventListener('clean', (m) => {
    const e = JSON.parse((m as MessageEvent).data) as { top5: TopClass[]; label: number; labelSource: string; classes: string[]; chart: object; attack: string };
    ($('img-original') as HTMLImageElement).src = `${base}/original.png`;
    const clean = $('clean-label');
    clean.textContent = `predicted ${labelText(e.top5[0]!)}; ${e.labelSource === 'dataset' ? 'true label' : 'attacked away from'} ${e.label}: ${e.classes[e.label]}`;
    clean.dataset.pred = String(e.top5[0]!.index);
    clean.dataset.label = String(e.label);
    $('attack-status').textContent = `${e.attack} running…`;
    void embed($('chart-before'), e.chart);
  });
  source.addEventListener('loss', (m) => {
    const e = JSON.parse((m as MessageEvent).data) as { rows: object[] };
    lossQueue = lossQueue.then(() => appendRows(lossView, 'points', e.rows));
  });
  source.addEventListener('done', (m) => {
    const e = JSON.parse((m as MessageEvent).data) as {
      top5: TopClass[]; cleanPred: number; advPred: number; success: boolean; linf: number; l2: number; perturbationScale: number; seconds: number; chart: object;
    };
    ($('img-perturbation') as HTMLImageElement).src = `${base}/perturbation.png`;
    ($('img-adversarial') as HTMLImageElement).src = `${base}/adversarial.png`;
    const adv = $('adv-label');
    adv.textContent = `predicted ${labelText(e.top5[0]!)}`;
    adv.dataset.pred = String(e.advPred);
    $('perturbation-note').textContent = `(δ × ${fmt(e.perturbationScale, 1)}, grey = 0)`;
    const summary = $('summary');
    summary.textContent = `${e.success ? 'Success' : 'No success'}: prediction ${e.cleanPred} → ${e.advPred}; ‖δ‖∞ = ${fmt(e.linf, 5)}, ‖δ‖₂ = ${fmt(e.l2, 4)}; ${fmt(e.seconds, 2)} s`;
    summary.dataset.success = String(e.success);
    summary.dataset.linf = String(e.linf);
    const dl = $('download') as HTMLAnchorElement;
    dl.href = `${base}/adversarial.png?download`;
    dl.hidden = false;
    void lossQueue.then(() => embed($('chart-after'), e.chart)).then(() => { document.body.dataset.result = 'done'; });
  });
  source.addEventListener('error', (m) => {
    // Server-sent 'error' events carry data; connection errors do not (EventSource retries those).
    const data = (m as MessageEvent).data as string | undefined;
    if (data) showError(JSON.parse(data).message);
  });
  source.addEventListener('end', (m) => {
    const e = JSON.parse((m as MessageEvent).data) as { state: string; message?: string };
    $('attack-status').textContent = e.state === 'done' ? 'done' : `${e.state}${e.message ? `: ${e.message}` : ''}`;
    if (e.state !== 'done') document.body.dataset.result = e.state;
    source?.close();
    setRunning(false);
  });
}

async function cancel(): Promise<void> {
  if (!jobId) return;
  try {
    await api(`/api/attacks/${jobId}`, { method: 'DELETE' });
  } catch (e) {
    showError((e as Error).message);
  }
}

async function main(): Promise<void> {
  showTokenState();
  setRunning(false);
  meta = await api<Meta>('/api/meta');
  checkpoints = await api<Checkpoint[]>('/api/checkpoints');
  const q = new URLSearchParams(location.search);
  const wantModel = q.get('model') ?? 'mnist-cnn';
  select('model').replaceChildren(...meta.models.map((m) => option(m.name, `${m.name} — ${m.description}`, m.name === wantModel)));
  select('trained-on').replaceChildren(...meta.trainedOn.map((t) => option(t, t)));
  const syncTrainedOn = () => {
    const ck = checkpoints.find((c) => c.ref === select('checkpoint').value);
    select('trained-on').value = ck?.dataset ?? meta.models.find((m) => m.name === select('model').value)!.trainedOn;
  };
  select('attack').replaceChildren(...meta.attacks.map((a) => option(a.id, a.title, a.id === (q.get('attack') ?? 'fgsm'))));
  renderCheckpoints(q.get('checkpoint') ?? undefined);
  syncTrainedOn();
  renderParams();
  select('model').addEventListener('change', () => { renderCheckpoints(); syncTrainedOn(); renderParams(); });
  select('checkpoint').addEventListener('change', syncTrainedOn);
  select('attack').addEventListener('change', renderParams);
  select('mode').addEventListener('change', updateTarget);
  select('dataset').addEventListener('change', () => void previewImage());
  input('image-index').addEventListener('change', () => void previewImage());
  $('random-image').addEventListener('click', () => {
    input('image-index').value = String(Math.floor(Math.random() * 10000));
    void previewImage();
  });
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name=image-source]')) {
    r.addEventListener('change', () => { if (imageSource() === 'dataset') void previewImage(); });
  }
  input('upload').addEventListener('change', () => {
    const f = input('upload').files?.[0];
    if (f) {
      (document.querySelector('input[name=image-source][value=upload]') as HTMLInputElement).checked = true;
      void upload(f);
    }
  });
  $('attack-form').addEventListener('submit', (e) => void run(e));
  $('cancel-attack').addEventListener('click', () => void cancel());
  await previewImage();
  await embed($('chart-loss'), meta.charts.attackLoss);
  document.body.dataset.ready = 'true';
}

main().catch((e: Error) => showError(e.message));
