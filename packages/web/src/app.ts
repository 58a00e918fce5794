// The dashboard's routes (Hono). Pages and JSON reads are open to the local user; every request that
// starts work or writes (POST, DELETE) must carry the start-up token in a header and, for attacks, the
// page's client id (one attack at a time per client). Live updates are server-sent events.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { models } from 'robusta';
import { z } from 'zod';
import { ATTACKS, attackEntry, catalogJson, resolveParams } from './attack-catalog.js';
import { AttackJobs, BusyError, type JobEvent } from './attack-jobs.js';
import type { AttackRequest } from './attack-protocol.js';
import { accuracyCurveSpec, attackLossSpec, lossCurveSpec, runCurveRows } from './charts.js';
import { BUILTIN_DATASETS, BuiltinImages, isBuiltinDataset } from './datasets.js';
import { defaultTrainedOn, TRAINED_ON, type TrainedOn } from './model-input.js';
import { renderPage, type PageName } from './pages.js';
import { RunIndex } from './runs.js';
import { CLIENT_HEADER, hostAllowed, PathEscapeError, requestToken, tokenMatches } from './security.js';
import { StudyExplorer, type StudyFilters } from './studies.js';
import { StoreRegistry } from './stores.js';
import { UploadError, UploadStore } from './upload.js';

export interface AppContext {
  token: string;
  host: string;
  /** The port the server listens on (the Host check needs it; set once listening). */
  port: () => number;
  runsRoot: string;
  stores: StoreRegistry;
  runs: RunIndex;
  studies: StudyExplorer;
  jobs: AttackJobs;
  uploads: UploadStore;
  images: BuiltinImages;
  /** libtorch threads of each attack's process. */
  attackThreads: number;
  /** How often live views look for changes (ms). */
  pollMs: number;
}

const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
  "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
].join('; ');

/** Files the pages load, by URL name: vendor bundles from node_modules, the compiled page modules, the style. */
function staticFiles(): Map<string, { path: string; type: string }> {
  const bundle = (pkg: string, file: string) => fileURLToPath(new URL(file, import.meta.resolve(pkg)));
  const files = new Map<string, { path: string; type: string }>([
    ['/vendor/vega.min.js', { path: bundle('vega', './vega.min.js'), type: 'text/javascript' }],
    ['/vendor/vega-lite.min.js', { path: bundle('vega-lite', './vega-lite.min.js'), type: 'text/javascript' }],
    ['/vendor/vega-embed.min.js', { path: bundle('vega-embed', './vega-embed.min.js'), type: 'text/javascript' }],
    ['/app/style.css', { path: fileURLToPath(new URL('../../client/style.css', import.meta.url)), type: 'text/css' }],
  ]);
  for (const m of ['common', 'playground', 'runs', 'studies']) {
    files.set(`/app/${m}.js`, { path: fileURLToPath(new URL(`../client/${m}.js`, import.meta.url)), type: 'text/javascript' });
  }
  return files;
}

const ClientId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

const AttackBody = z.object({
  model: z.string().refine((m) => models.isModelName(m), { message: `unknown model (known: ${models.MODEL_NAMES.join(', ')})` }),
  trainedOn: z.enum(TRAINED_ON).optional(),
  checkpoint: z.string().max(512).nullable(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  image: z.union([
    z.object({ dataset: z.enum(BUILTIN_DATASETS), index: z.number().int().min(0) }).strict(),
    z.object({ upload: z.string().regex(/^[0-9a-f]{24}$/) }).strict(),
  ]),
  attack: z.string().refine((a) => attackEntry(a) !== undefined, { message: `unknown attack (known: ${ATTACKS.map((a) => a.id).join(', ')})` }),
  params: z.record(z.string(), z.union([z.number(), z.string().max(40), z.boolean(), z.null()])).default({}),
  mode: z.enum(['untargeted', 'targeted', 'random', 'leastLikely']).default('untargeted'),
  target: z.number().int().min(0).nullable().optional(),
}).strict();

function fail(c: Context, status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 503, error: string, message: string, extra: object = {}) {
  return c.json({ error, message, ...extra }, status);
}

/** Errors a read can raise from what the request said (a bad path, an unknown name, a bad value). */
function requestError(c: Context, e: unknown) {
  if (e instanceof PathEscapeError) return fail(c, 403, 'forbidden-path', e.message);
  if (e instanceof RangeError) return fail(c, 400, 'bad-request', e.message);
  throw e;
}

export function createApp(ctx: AppContext): Hono {
  const app = new Hono();
  const files = staticFiles();

  app.use('*', async (c, next) => {
    if (!hostAllowed(c.req.header('host'), ctx.host, ctx.port())) return fail(c, 403, 'bad-host', 'this server answers to its own loopback address only');
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    c.header('Content-Security-Policy', CSP);
  });

  // Work and writes: the token, in a header. No CORS is granted, so another site's page cannot send it.
  app.use('/api/*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (!tokenMatches(requestToken((n) => c.req.header(n)), ctx.token)) {
      return fail(c, 401, 'token-required', 'this request starts work or writes: send the token robusta serve printed (header X-Robusta-Token)');
    }
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== 'null') {
      try {
        if (!hostAllowed(new URL(origin).host, ctx.host, ctx.port())) return fail(c, 403, 'bad-origin', 'cross-site requests are refused');
      } catch {
        return fail(c, 403, 'bad-origin', 'cross-site requests are refused');
      }
    }
    return next();
  });

  const page = (name: PageName) => (c: Context) => c.html(renderPage(name));
  app.get('/', page('playground'));
  app.get('/runs', page('runs'));
  app.get('/studies', page('studies'));
  app.get('/vendor/:file', (c) => serveFile(c, files.get(c.req.path)));
  app.get('/app/:file', (c) => serveFile(c, files.get(c.req.path)));

  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('/api/health', (c) => c.json({ ok: true, attacksRunning: ctx.jobs.running().length }));

  app.get('/api/meta', (c) => c.json({
    attacks: catalogJson(),
    models: models.listModels().map((m) => ({ ...m, trainedOn: defaultTrainedOn(m.name) })),
    trainedOn: TRAINED_ON,
    datasets: BUILTIN_DATASETS,
    uploadLimits: ctx.uploads.limits,
    attackLimits: ctx.jobs.limits,
    charts: { attackLoss: attackLossSpec() },
  }));

  app.get('/api/datasets/:name/:index', (c) => {
    const name = c.req.param('name');
    if (!isBuiltinDataset(name)) return fail(c, 404, 'not-found', `no built-in data set '${name}'`);
    try {
      return c.json(ctx.images.describe(name, Number(c.req.param('index'))));
    } catch (e) {
      return requestError(c, e);
    }
  });

  app.get('/api/datasets/:name/:index/image.png', (c) => {
    const name = c.req.param('name');
    if (!isBuiltinDataset(name)) return fail(c, 404, 'not-found', `no built-in data set '${name}'`);
    try {
      return png(c, ctx.images.png(name, Number(c.req.param('index'))));
    } catch (e) {
      return requestError(c, e);
    }
  });

  app.get('/api/checkpoints', async (c) => {
    const runs = await ctx.runs.list();
    return c.json(runs.flatMap((r) => r.checkpoints.map((k) => ({
      ref: k.ref, label: `${r.title} · ${k.kind}`, model: r.model, dataset: r.dataset, run: r.key,
    }))));
  });

  app.get('/api/runs', async (c) => c.json(await ctx.runs.list()));

  app.get('/api/run', async (c) => {
    try {
      const detail = await ctx.runs.detail(c.req.query('key') ?? '');
      if (!detail) return fail(c, 404, 'not-found', 'no such run');
      return c.json(runView(detail));
    } catch (e) {
      return requestError(c, e);
    }
  });

  // The run list, and the chosen run, whenever they change.
  app.get('/api/runs/events', async (c) => {
    const key = c.req.query('key');
    if (key) {
      try {
        if (!(await ctx.runs.detail(key))) return fail(c, 404, 'not-found', 'no such run');
      } catch (e) {
        return requestError(c, e);
      }
    }
    return streamSSE(c, async (stream) => {
      let lastList = '', lastRun = '';
      while (!stream.aborted) {
        const list = JSON.stringify(await ctx.runs.list());
        if (list !== lastList) await stream.writeSSE({ event: 'runs', data: list });
        lastList = list;
        if (key) {
          const detail = await ctx.runs.detail(key);
          const run = detail ? JSON.stringify(runView(detail)) : '';
          if (run !== lastRun && run) await stream.writeSSE({ event: 'run', data: run });
          lastRun = run;
        }
        await stream.sleep(ctx.pollMs);
      }
    });
  });

  app.get('/api/studies', async (c) => c.json(await ctx.studies.list()));

  app.get('/api/study', async (c) => {
    const filters: StudyFilters = {};
    for (const f of c.req.queries('f') ?? []) {
      const at = f.indexOf('=');
      if (at <= 0) return fail(c, 400, 'bad-request', `a filter is axis=value, got '${f.slice(0, 60)}'`);
      (filters[f.slice(0, at)] ??= []).push(f.slice(at + 1));
    }
    try {
      const view = await ctx.studies.view(c.req.query('store') ?? '', c.req.query('study') ?? '', filters, c.req.query('measure'));
      if (!view) return fail(c, 404, 'not-found', 'no such study');
      return c.json(view);
    } catch (e) {
      return requestError(c, e);
    }
  });

  app.post('/api/uploads', bodyLimit({
    maxSize: ctx.uploads.limits.maxBytes,
    onError: (c) => fail(c, 413, 'too-large', `uploads are limited to ${ctx.uploads.limits.maxBytes} bytes`),
  }), async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    try {
      const u = ctx.uploads.add(bytes, c.req.header('content-type'));
      return c.json({ id: u.id, format: u.format, width: u.width, height: u.height, bytes: u.bytes }, 201);
    } catch (e) {
      if (e instanceof UploadError) return fail(c, e.status, 'bad-upload', e.message);
      throw e;
    }
  });

  app.post('/api/attacks', bodyLimit({ maxSize: 64 * 1024, onError: (c) => fail(c, 413, 'too-large', 'the request is too large') }), async (c) => {
    const client = ClientId.safeParse(c.req.header(CLIENT_HEADER));
    if (!client.success) return fail(c, 400, 'client-required', `send a client id (header ${CLIENT_HEADER}: 8 to 64 letters, digits, - or _)`);
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return fail(c, 400, 'bad-request', 'the body must be JSON');
    }
    const parsed = AttackBody.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return fail(c, 400, 'bad-request', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const body = parsed.data;
    const entry = attackEntry(body.attack)!;
    let request: AttackRequest;
    try {
      const params = resolveParams(entry, body.params);
      if (body.mode !== 'untargeted' && !entry.targeted) throw new RangeError(`${entry.title} has no targeted mode`);
      if (body.mode === 'targeted' && (body.target === null || body.target === undefined)) throw new RangeError('mode targeted needs a target class');
      let checkpoint: string | null = null;
      let trainedOn: TrainedOn = body.trainedOn ?? defaultTrainedOn(body.model);
      if (body.checkpoint !== null) {
        const ck = await ctx.runs.resolveCheckpoint(body.checkpoint);
        if (ck.model !== null && ck.model !== body.model) throw new RangeError(`the checkpoint belongs to a ${ck.model}, not a ${body.model}`);
        checkpoint = ck.path;
        if (!body.trainedOn && ck.dataset && (TRAINED_ON as readonly string[]).includes(ck.dataset)) trainedOn = ck.dataset as TrainedOn;
      }
      let image: AttackRequest['image'];
      if ('upload' in body.image) {
        const u = ctx.uploads.get(body.image.upload);
        if (!u) throw new RangeError('no such upload (uploads are kept while the server runs; upload the image again)');
        image = { kind: 'upload', path: u.path };
      } else {
        ctx.images.describe(body.image.dataset, body.image.index);
        image = { kind: 'dataset', dataset: body.image.dataset, index: body.image.index };
      }
      request = {
        model: body.model, trainedOn, checkpoint, seed: body.seed, image, attack: entry.id, params, mode: body.mode,
        target: body.mode === 'targeted' ? body.target! : null, threads: ctx.attackThreads,
      };
    } catch (e) {
      return requestError(c, e);
    }
    try {
      const job = ctx.jobs.start(client.data, request);
      return c.json({ id: job.id, events: `/api/attacks/${job.id}/events`, params: request.params, trainedOn: request.trainedOn }, 202);
    } catch (e) {
      if (e instanceof BusyError) return fail(c, e.status, 'busy', e.message, { job: e.job });
      throw e;
    }
  });

  app.get('/api/attacks/:id', (c) => {
    const job = ctx.jobs.get(c.req.param('id'));
    if (!job) return fail(c, 404, 'not-found', 'no such attack');
    return c.json({ ...job.summary(), events: job.events });
  });

  app.delete('/api/attacks/:id', (c) => {
    const job = ctx.jobs.get(c.req.param('id'));
    if (!job) return fail(c, 404, 'not-found', 'no such attack');
    if (c.req.header(CLIENT_HEADER) !== job.clientId) return fail(c, 403, 'not-yours', 'only the page that started an attack can cancel it');
    ctx.jobs.cancel(job);
    return c.json(job.summary());
  });

  app.get('/api/attacks/:id/events', (c) => {
    const job = ctx.jobs.get(c.req.param('id'));
    if (!job) return fail(c, 404, 'not-found', 'no such attack');
    return streamSSE(c, async (stream) => {
      let chain = Promise.resolve();
      await new Promise<void>((resolve) => {
        const unsubscribe = job.subscribe((e: JobEvent) => {
          chain = chain.then(() => stream.writeSSE({ event: e.type, data: JSON.stringify(e) }));
          if (e.type === 'end') void chain.then(resolve);
        });
        stream.onAbort(() => {
          unsubscribe();
          resolve();
        });
      });
    });
  });

  app.get('/api/attacks/:id/:image{(original|perturbation|adversarial)\\.png}', (c) => {
    const job = ctx.jobs.get(c.req.param('id'));
    const which = c.req.param('image').replace('.png', '') as 'original' | 'perturbation' | 'adversarial';
    const bytes = job?.images.get(which);
    if (!bytes) return fail(c, 404, 'not-found', 'no such picture (yet)');
    if (c.req.query('download') !== undefined) c.header('Content-Disposition', `attachment; filename="${which}-${job!.request.attack}.png"`);
    return png(c, bytes);
  });

  app.notFound((c) => fail(c, 404, 'not-found', 'no such page'));
  app.onError((e, c) => {
    console.error(`robusta serve: ${c.req.method} ${c.req.path}: ${e.stack ?? e.message}`);
    return c.json({ error: 'internal', message: `${e.name}: ${e.message}` }, 500);
  });
  return app;
}

function runView(detail: Awaited<ReturnType<RunIndex['detail']>> & object) {
  const rows = runCurveRows(detail.history);
  return { ...detail, charts: { loss: lossCurveSpec(rows.loss), accuracy: accuracyCurveSpec(rows.accuracy) } };
}

function png(c: Context, bytes: Buffer) {
  c.header('Content-Type', 'image/png');
  c.header('Cache-Control', 'no-store');
  return c.body(new Uint8Array(bytes));
}

function serveFile(c: Context, file: { path: string; type: string } | undefined) {
  if (!file) return fail(c, 404, 'not-found', 'no such file');
  let body: Buffer;
  try {
    body = readFileSync(file.path);
  } catch {
    return fail(c, 404, 'not-found', 'the file is missing (is the package built?)');
  }
  c.header('Content-Type', `${file.type}; charset=utf-8`);
  c.header('Cache-Control', 'no-cache');
  return c.body(new Uint8Array(body));
}
