// The dashboard's guards, over real HTTP against a running server: the loopback default, the token
// on everything that starts work or writes, the Host and Origin checks, paths that would leave the
// runs folder, upload limits and types, one attack per client with a clear "busy" answer, and a
// server that keeps answering while an attack runs in its child process (and stops it on cancel).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { data } from 'robusta';
import { checkUpload, headerDimensions, resolveInside, startDashboard, type Dashboard, UploadError } from '../src/index.js';

const TOKEN = 'security-test-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'robusta-web-sec-'));
const runs = join(root, 'runs');
const outside = join(root, 'outside');
let dash: Dashboard;

interface Reply { status: number; body: Record<string, unknown>; ms: number }

async function call(path: string, o: { method?: string; token?: string | null; client?: string; json?: unknown; body?: Uint8Array; type?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== null) headers['X-Robusta-Token'] = o.token ?? TOKEN;
  if (o.client) headers['X-Robusta-Client'] = o.client;
  let body: string | Uint8Array | undefined;
  if (o.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.body) {
    headers['Content-Type'] = o.type ?? 'application/octet-stream';
    body = o.body;
  }
  const t0 = performance.now();
  const res = await fetch(`${dash.url.replace(/\/$/, '')}${path}`, { method: o.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try { parsed = JSON.parse(text) as Record<string, unknown>; } catch { parsed = { text }; }
  return { status: res.status, body: parsed, ms: performance.now() - t0 };
}

/** A raw request with a Host header of our choosing (fetch does not let one set it). */
function rawGet(path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: dash.port, path, headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const tinyPng = () => data.encodePng({ width: 20, height: 12, data: new Uint8Array(20 * 12 * 3).map((_, i) => (i * 37) % 256) });

const fgsm = (image: object, extra: object = {}) => ({ model: 'mnist-mlp', checkpoint: null, image, attack: 'fgsm', params: { eps: '0.1' }, ...extra });
// CW runs every one of its steps: long enough to find the server busy, and cancelled by the test.
const longCw = { model: 'mnist-cnn', checkpoint: null, image: { dataset: 'mnist', index: 0 }, attack: 'cw', params: { steps: 10000 } };

async function waitState(id: string, states: string[], ms = 30_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const r = await call(`/api/attacks/${id}`);
    if (states.includes(String(r.body.state))) return String(r.body.state);
    if (Date.now() - t0 > ms) throw new Error(`attack ${id} still ${String(r.body.state)}: ${JSON.stringify(r.body.events)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(async () => {
  mkdirSync(join(runs, 'good'), { recursive: true });
  writeFileSync(join(runs, 'good', 'metrics.jsonl'), `${JSON.stringify({ epoch: 1, loss: 1.5, train_clean_acc: 0.5 })}\n`);
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'metrics.jsonl'), `${JSON.stringify({ epoch: 1, loss: 9 })}\n`);
  writeFileSync(join(outside, 'w.pt'), 'not yours');
  symlinkSync(outside, join(runs, 'escape'));
  dash = await startDashboard({
    runsDir: runs, port: 0, token: TOKEN, attackThreads: 1, pollMs: 200,
    attackLimits: { maxRunning: 1 }, uploadLimits: { maxBytes: 64 * 1024, maxSide: 512 },
  });
});

test.after(async () => {
  await dash.close();
  rmSync(root, { recursive: true, force: true });
});

test('binds to 127.0.0.1 by default and answers only to loopback host names', async () => {
  assert.equal(dash.address, '127.0.0.1');
  assert.equal(await rawGet('/api/health', `127.0.0.1:${dash.port}`), 200);
  assert.equal(await rawGet('/api/health', `localhost:${dash.port}`), 200);
  // DNS rebinding: a foreign name pointing at 127.0.0.1 is refused, and so is the right name with another port.
  assert.equal(await rawGet('/api/health', `attacker.example:${dash.port}`), 403);
  assert.equal(await rawGet('/', `attacker.example`), 403);
  assert.equal(await rawGet('/api/health', `127.0.0.1:${dash.port + 1}`), 403);
});

test('work and writes need the token; reads do not', async () => {
  const body = fgsm({ dataset: 'mnist', index: 0 });
  for (const token of [null, 'wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
    const r = await call('/api/attacks', { method: 'POST', token, client: 'client-aaaaaaaa', json: body });
    assert.equal(r.status, 401, `token ${token}`);
    assert.equal(r.body.error, 'token-required');
  }
  // Not in the query string either (it would end up in logs and histories).
  assert.equal((await call(`/api/attacks?token=${TOKEN}`, { method: 'POST', token: null, client: 'client-aaaaaaaa', json: body })).status, 401);
  assert.equal((await call('/api/uploads', { method: 'POST', token: null, body: tinyPng(), type: 'image/png' })).status, 401);
  assert.equal((await call('/api/attacks/000000000000000000000000', { method: 'DELETE', token: null })).status, 401);
  // An Authorization: Bearer header is the other accepted form; a cross-site Origin is refused even with the token.
  const bearer = await call('/api/uploads', { method: 'POST', token: null, headers: { Authorization: `Bearer ${TOKEN}` }, body: tinyPng(), type: 'image/png' });
  assert.equal(bearer.status, 201);
  const cross = await call('/api/uploads', { method: 'POST', headers: { Origin: 'https://attacker.example' }, body: tinyPng(), type: 'image/png' });
  assert.equal(cross.status, 403);
  assert.equal(cross.body.error, 'bad-origin');
  assert.equal((await call('/api/health')).body.attacksRunning, 0, 'nothing was started');
  // Reads are open.
  assert.equal((await call('/api/runs', { token: null })).status, 200);
  assert.equal((await call('/', { token: null })).status, 200);
});

test('no request path escapes the runs folder', async () => {
  const ok = await call(`/api/run?key=${encodeURIComponent('f:good')}`);
  assert.equal(ok.status, 200, 'a folder inside the runs folder opens');
  assert.equal((ok.body as { history: unknown[] }).history.length, 1);
  for (const key of ['f:../outside', 'f:good/../../outside', 'f:/etc', 'f:./good', 'f:good/..', 'f:escape', 'f:good\\..\\..', 'f:good\0']) {
    const r = await call(`/api/run?key=${encodeURIComponent(key)}`);
    assert.equal(r.status, 403, `${JSON.stringify(key)} gave ${r.status}`);
    assert.equal(r.body.error, 'forbidden-path');
  }
  // Encoded dots reach the server decoded: refused as well.
  assert.equal((await call('/api/run?key=f:%2e%2e%2foutside')).status, 403);
  assert.equal((await call('/api/runs/events?key=f:..%2Foutside')).status, 403);
  // The listing does not follow the symbolic link out either.
  const listed = (await call('/api/runs')).body as unknown as { key: string }[];
  assert.deepEqual(listed.map((r) => r.key), ['f:good']);
  for (const checkpoint of ['runs:../outside/w.pt', 'runs:escape/w.pt', 'runs:/etc/passwd.pt', 'runs:good/../../outside/w.pt']) {
    const r = await call('/api/attacks', { method: 'POST', client: 'client-paths-1', json: fgsm({ dataset: 'mnist', index: 0 }, { checkpoint }) });
    assert.equal(r.status, 403, `${checkpoint} gave ${r.status}: ${JSON.stringify(r.body)}`);
  }
  const forged = await call('/api/attacks', { method: 'POST', client: 'client-paths-1', json: fgsm({ dataset: 'mnist', index: 0 }, { checkpoint: 'store:abcdef012345:x:00:../../w.pt' }) });
  assert.equal(forged.status, 400);
  // Static files are served from a fixed list, never by joining the request's path.
  assert.equal((await call('/app/..%2F..%2Fpackage.json')).status, 404);
  assert.equal((await call('/vendor/..%2F..%2F..%2Fpackage.json')).status, 404);
  assert.equal((await call('/api/health')).body.attacksRunning, 0);

  assert.throws(() => resolveInside(runs, '../x'), /'\.\.'/);
  assert.equal(resolveInside(runs, 'good'), join(runs, 'good'));
});

test('uploads: size, type and declared dimensions are checked before any decoding', async () => {
  const png = tinyPng();
  const up = await call('/api/uploads', { method: 'POST', body: png, type: 'image/png' });
  assert.equal(up.status, 201);
  assert.deepEqual([up.body.format, up.body.width, up.body.height], ['png', 20, 12]);

  const big = new Uint8Array(64 * 1024 + 1);
  big.set(png.subarray(0, 24));
  const r1 = await call('/api/uploads', { method: 'POST', body: big, type: 'image/png' });
  assert.equal(r1.status, 413, 'over the byte limit');
  const text = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"></svg>');
  assert.equal((await call('/api/uploads', { method: 'POST', body: text, type: 'image/png' })).status, 415, 'not an image');
  assert.equal((await call('/api/uploads', { method: 'POST', body: text, type: 'image/svg+xml' })).status, 415, 'SVG is not accepted');
  assert.equal((await call('/api/uploads', { method: 'POST', body: png, type: 'text/plain' })).status, 415, 'declared type not an image');
  assert.equal((await call('/api/uploads', { method: 'POST', body: png, type: 'image/jpeg' })).status, 415, 'PNG sent as JPEG');
  // A 60-byte PNG header that declares 100000 × 100000 pixels.
  const bomb = Uint8Array.from(png.subarray(0, 33));
  new DataView(bomb.buffer).setUint32(16, 100_000);
  new DataView(bomb.buffer).setUint32(20, 100_000);
  const r2 = await call('/api/uploads', { method: 'POST', body: bomb, type: 'image/png' });
  assert.equal(r2.status, 413);
  assert.match(String(r2.body.message), /100000 × 100000/);

  // JPEG headers are read too.
  const jpeg = data.encodeJpeg({ width: 33, height: 17, data: new Uint8Array(33 * 17 * 3).fill(128) });
  assert.deepEqual(headerDimensions(jpeg, 'jpeg'), { width: 33, height: 17 });
  assert.throws(() => checkUpload(jpeg, 'image/jpeg', { maxBytes: 1e6, maxSide: 32 }), (e: unknown) => e instanceof UploadError && e.status === 413);

  // A checked upload is attacked (resized to 28 × 28 and turned grey for an MNIST model).
  const started = await call('/api/attacks', { method: 'POST', client: 'client-upload-1', json: fgsm({ upload: String(up.body.id) }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.equal(await waitState(String(started.body.id), ['done', 'failed']), 'done');
  const job = await call(`/api/attacks/${String(started.body.id)}`);
  const clean = (job.body.events as { type: string; shape?: number[]; labelSource?: string }[]).find((e) => e.type === 'clean')!;
  assert.deepEqual(clean.shape, [1, 1, 28, 28]);
  assert.equal(clean.labelSource, 'prediction');
  assert.equal((await call('/api/attacks', { method: 'POST', client: 'client-upload-1', json: fgsm({ upload: 'f'.repeat(24) }) })).status, 400, 'unknown upload id');
});

test('one attack per client, a clear busy answer, and a server that keeps answering', async () => {
  const a = await call('/api/attacks', { method: 'POST', client: 'client-aaaaaaaa', json: longCw });
  assert.equal(a.status, 202, JSON.stringify(a.body));
  const id = String(a.body.id);
  const again = await call('/api/attacks', { method: 'POST', client: 'client-aaaaaaaa', json: fgsm({ dataset: 'mnist', index: 1 }) });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'busy');
  assert.match(String(again.body.message), /^busy: your previous attack is still running/);
  assert.equal((again.body.job as { id: string }).id, id);
  // This server allows one attack at a time in all: another client is told so.
  const other = await call('/api/attacks', { method: 'POST', client: 'client-bbbbbbbb', json: fgsm({ dataset: 'mnist', index: 1 }) });
  assert.equal(other.status, 503);
  assert.equal(other.body.error, 'busy');

  // Wait until the attack computes (its loss points arrive), then time the server's answers meanwhile.
  const t0 = Date.now();
  while (!((await call(`/api/attacks/${id}`)).body.events as { type: string }[]).some((e) => e.type === 'loss')) {
    assert.ok(Date.now() - t0 < 30_000, 'no loss points from the attack');
    await new Promise((r) => setTimeout(r, 100));
  }
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    times.push((await call('/api/health')).ms);
    times.push((await call('/api/runs')).ms);
  }
  assert.equal((await call(`/api/attacks/${id}`)).body.state, 'running', 'the attack was still running while the server answered');
  assert.ok(Math.max(...times) < 1000, `answers took up to ${Math.max(...times).toFixed(0)} ms while the attack ran`);

  // Only its own page cancels it; then the client is free again.
  assert.equal((await call(`/api/attacks/${id}`, { method: 'DELETE', client: 'client-bbbbbbbb' })).status, 403);
  const cancelled = await call(`/api/attacks/${id}`, { method: 'DELETE', client: 'client-aaaaaaaa' });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.state, 'cancelled');
  assert.equal((await call('/api/health')).body.attacksRunning, 0);
  const next = await call('/api/attacks', { method: 'POST', client: 'client-aaaaaaaa', json: fgsm({ dataset: 'mnist', index: 1 }) });
  assert.equal(next.status, 202);
  assert.equal(await waitState(String(next.body.id), ['done', 'failed']), 'done');
});

test('bad attack requests are refused with the reason', async () => {
  const bad = async (json: object) => (await call('/api/attacks', { method: 'POST', client: 'client-bad-0001', json })).body.message;
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 0 }, { model: 'nope' }))), /unknown model/);
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 0 }, { attack: 'nope' }))), /unknown attack/);
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 10_000 }))), /0 to 9999/);
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 0 }, { params: { eps: 'x' } }))), /eps must be a number/);
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 0 }, { params: { steps: 3 } }))), /FGSM has no parameter 'steps'/);
  assert.match(String(await bad({ ...longCw, params: { steps: 10_000_000 } })), /steps must lie in/);
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 0 }, { attack: 'deepfool', params: {}, mode: 'targeted', target: 1 }))), /no targeted mode/);
  assert.match(String(await bad(fgsm({ dataset: 'mnist', index: 0 }, { mode: 'targeted' }))), /needs a target class/);
  const noClient = await call('/api/attacks', { method: 'POST', json: fgsm({ dataset: 'mnist', index: 0 }) });
  assert.equal(noClient.status, 400);
  assert.equal(noClient.body.error, 'client-required');
  assert.equal((await call('/api/health')).body.attacksRunning, 0);
});
