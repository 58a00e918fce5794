// Real services for the store and cluster tests: a throw-away PostgreSQL cluster or single-node Slurm started by
// scripts/test-services.sh in a temporary folder, stopped after the tests. When it cannot start the
// tests skip with the script's reason — except under CI=true, where only a documented impossibility of
// the machine (exit 78) may skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../../../scripts/test-services.sh', import.meta.url));

export interface StartedService {
  /** The KEY=VALUE lines `start` printed (PGURL, SLURM_CONF). */
  values: Record<string, string>;
  dir: string;
  stop(): void;
}

export type ServiceResult = { service: StartedService; skip: false } | { service: null; skip: string };

export function startService(kind: 'postgres' | 'slurm'): ServiceResult {
  const dir = mkdtempSync(join(tmpdir(), `robusta-${kind}-`));
  const r = spawnSync('bash', [script, kind, 'start', dir], { encoding: 'utf8', timeout: 180_000 });
  const stop = () => {
    spawnSync('bash', [script, kind, 'stop', dir], { encoding: 'utf8', timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  if (r.status !== 0) {
    stop();
    const reason = (r.stderr ?? '').trim().split('\n').pop()?.replace(/^(skip|error): /, '') || `exit ${r.status} ${r.signal ?? ''}`;
    if (process.env.CI === 'true' && r.status !== 78) throw new Error(`${kind} is required under CI=true but could not start: ${reason}`);
    return { service: null, skip: `${kind} could not start: ${reason}` };
  }
  const values = Object.fromEntries(r.stdout.trim().split('\n').filter((l) => l.includes('=')).map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
  let stopped = false;
  return {
    skip: false,
    service: {
      values, dir, stop: () => {
        if (!stopped) stop();
        stopped = true;
      },
    },
  };
}
