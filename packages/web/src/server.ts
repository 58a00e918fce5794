// Starting and stopping the dashboard: the Hono app on Node's HTTP server, bound to 127.0.0.1 unless
// told otherwise, with a fresh token each start.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, type AppContext } from './app.js';
import { AttackJobs, DEFAULT_JOB_LIMITS, type JobLimits } from './attack-jobs.js';
import { BuiltinImages } from './datasets.js';
import { RunIndex } from './runs.js';
import { makeToken } from './security.js';
import { StudyExplorer } from './studies.js';
import { StoreRegistry } from './stores.js';
import { DEFAULT_UPLOAD_LIMITS, UploadStore, type UploadLimits } from './upload.js';

export interface DashboardOptions {
  /** Folder of training runs (and study folders with store.sqlite); default 'runs'. */
  runsDir?: string;
  /** Study stores to show besides those found in runsDir. */
  stores?: string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default: a new random token. */
  token?: string;
  /** libtorch threads per attack process (default: the cores less one, at least 1). */
  attackThreads?: number;
  attackLimits?: Partial<JobLimits>;
  uploadLimits?: Partial<UploadLimits>;
  /** How often live views look for changes, in ms (default 1000). */
  pollMs?: number;
}

export interface Dashboard {
  /** http://host:port/ */
  url: string;
  /** The URL to open: the token travels in the fragment, which browsers never send to a server. */
  openUrl: string;
  token: string;
  host: string;
  /** The address the server is bound to, as the socket reports it. */
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startDashboard(o: DashboardOptions = {}): Promise<Dashboard> {
  const host = o.host ?? '127.0.0.1';
  const token = o.token ?? makeToken();
  const runsRoot = resolve(o.runsDir ?? 'runs');
  const stores = new StoreRegistry(runsRoot, (o.stores ?? []).map((s) => resolve(s)));
  let port = o.port ?? 8080;
  const ctx: AppContext = {
    token, host, port: () => port, runsRoot, stores,
    runs: new RunIndex(runsRoot, stores),
    studies: new StudyExplorer(stores),
    jobs: new AttackJobs({ ...DEFAULT_JOB_LIMITS, ...o.attackLimits }),
    uploads: new UploadStore({ ...DEFAULT_UPLOAD_LIMITS, ...o.uploadLimits }),
    images: new BuiltinImages(),
    attackThreads: o.attackThreads ?? Math.max(1, availableParallelism() - 1),
    pollMs: o.pollMs ?? 1000,
  };
  const app = createApp(ctx);
  const server: ServerType = await new Promise((done, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => done(s));
    s.once('error', reject);
  });
  const bound = server.address() as AddressInfo;
  port = bound.port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/`;
  let closed = false;
  return {
    url, openUrl: `${url}#token=${token}`, token, host, address: bound.address, port,
    async close() {
      if (closed) return;
      closed = true;
      ctx.jobs.close();
      // Event streams stay open until their clients leave: end them with the server.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      ctx.uploads.close();
      ctx.images.dispose();
      await stores.close();
    },
  };
}

