// robusta serve: the dashboard (@robusta/web) — attack playground, training runs, study explorer —
// on this machine only unless told otherwise, with a token for anything that starts work.
import { existsSync } from 'node:fs';
import { startDashboard } from '@robusta/web';
import { parse, parseInteger, UsageError } from '../args.js';

export const usage = `robusta serve [--store FILE] [--runs DIR] [--port N] [--host 127.0.0.1]
  --runs DIR      training runs (robusta train --out) and study folders with store.sqlite (default runs)
  --store FILE    a study store to show besides those found under --runs
  --port N        (default 8080; 0 picks a free port)
  --host ADDR     address to listen on (default 127.0.0.1: this machine only)
  --threads N     libtorch threads of each attack (default: the cores less one)
  --json          print {url, openUrl, token} as one JSON line instead of text
Open the printed URL: the token in it lets the page start attacks; reading needs none.`;

export async function runServe(argv: string[]): Promise<void> {
  const o = parse(argv, {
    store: { type: 'string' }, runs: { type: 'string', default: 'runs' }, port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' }, threads: { type: 'string' }, json: { type: 'boolean' },
  });
  const store = o.store as string | undefined;
  if (store !== undefined && !existsSync(store)) throw new UsageError(`--store ${store}: no such file`);
  const host = o.host as string;
  const dashboard = await startDashboard({
    runsDir: o.runs as string, stores: store ? [store] : [], host,
    port: parseInteger('port', o.port as string | undefined, 8080, 0),
    attackThreads: o.threads === undefined ? undefined : parseInteger('threads', o.threads as string, undefined, 1),
  });
  if (o.json) {
    console.log(JSON.stringify({ url: dashboard.url, openUrl: dashboard.openUrl, token: dashboard.token }));
  } else {
    console.log(`robusta dashboard: ${dashboard.openUrl}`);
    console.log(`token (needed to start attacks): ${dashboard.token}`);
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      console.log(`warning: listening on ${host}, not only on this machine: anyone who can reach it can read the runs and studies`);
    }
    console.log('Ctrl-C stops it.');
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void dashboard.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
