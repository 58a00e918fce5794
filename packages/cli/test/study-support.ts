// What the study tests compare: a store's results without timings and paths (they differ from run to
// run and from store to store) — measures with their per-example values, checkpoint weights by hash,
// per-epoch metrics, run statuses.
import { createHash } from 'node:crypto';
import { io, study } from 'robusta';

/** sha256 of a checkpoint's weights (its files also hold timings). */
export function weightsHash(path: string): string {
  const h = createHash('sha256');
  const state = io.loadStateDict(path);
  for (const [k, t] of state) {
    const d = t.contiguous().data();
    h.update(k).update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    t.dispose();
  }
  return h.digest('hex');
}

export interface StoreSnapshot {
  measurements: string[];
  artifacts: string[];
  epochs: string[];
  statuses: string[];
}

export async function storeSnapshot(location: string, name = 'tiny'): Promise<StoreSnapshot> {
  const store = study.openStore(location);
  try {
    const [m, a, e, r] = [await store.measurements(name), await store.artifacts(name), await store.epochs(name), await store.runs(name)];
    const epochFields = (x: Record<string, unknown>) => JSON.stringify(Object.entries(x).filter(([k]) => k !== 'seconds' && k !== 'images_per_second'));
    return {
      measurements: m.map((x) => `${x.runId}/${x.checkpoint}/${x.measure}=${Number.isNaN(x.value) ? 'NaN' : x.value.toString()}:${x.error ?? ''}:${JSON.stringify(x.perExample)}`),
      artifacts: a.filter((x) => x.kind.endsWith('.pt')).map((x) => `${x.runId}/${x.kind}=${weightsHash(x.path)}`).sort(),
      epochs: e.map((x) => `${x.runId}/${x.epoch}=${epochFields(x.metrics)}`).sort(),
      statuses: r.map((x) => `${x.id}=${x.status}`).sort(),
    };
  } finally {
    await store.close();
  }
}
