// Slurm's own commands, run as a user runs them (sbatch, squeue, sacct, scontrol, scancel from PATH,
// SLURM_CONF from the environment): submit a script, read task states, cancel.
import { spawnSync } from 'node:child_process';
import { mergeStates, parseJobStateLines, parseScontrolJobs, type TaskStates } from './states.js';

export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, timeout: 120_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new SlurmError(code === 'ENOENT' ? `${cmd} is not on PATH: is this a Slurm login node? (Debian: apt-get install slurm-client)` : `${cmd}: ${r.error.message}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether Slurm's client commands are installed. */
export function hasSlurm(env?: NodeJS.ProcessEnv): boolean {
  try {
    return run('sbatch', ['--version'], env).status === 0;
  } catch {
    return false;
  }
}

/** Submits a batch script; returns its job id. */
export function sbatch(scriptPath: string, env?: NodeJS.ProcessEnv): string {
  const r = run('sbatch', ['--parsable', scriptPath], env);
  const id = /^(\d+)/.exec(r.stdout.trim())?.[1];
  if (r.status !== 0 || !id) throw new SlurmError(`sbatch ${scriptPath} failed: ${(r.stderr || r.stdout).trim()}`);
  return id;
}

/** Cancels jobs (a job id cancels its whole array; 123_4 one task). */
export function scancel(ids: string[], env?: NodeJS.ProcessEnv): void {
  if (ids.length === 0) return;
  const r = run('scancel', ids, env);
  if (r.status !== 0) throw new SlurmError(`scancel ${ids.join(' ')} failed: ${r.stderr.trim()}`);
}

/**
 * The state of every task of the given jobs: squeue for live tasks, then sacct (where accounting is
 * configured), then scontrol (tasks slurmctld still remembers). Tasks no source knows are absent.
 */
export function taskStates(jobIds: string[], env?: NodeJS.ProcessEnv): TaskStates {
  if (jobIds.length === 0) return new Map();
  const sources: TaskStates[] = [];
  for (const id of jobIds) {
    // One job per call: a purged job id makes squeue and scontrol fail for the whole list.
    const q = run('squeue', ['-h', '-r', '-j', id, '-o', '%i|%T'], env);
    if (q.status === 0) sources.push(parseJobStateLines(q.stdout));
  }
  const acct = run('sacct', ['-n', '-P', '-X', '-j', jobIds.join(','), '-o', 'JobID,State'], env);
  if (acct.status === 0) sources.push(parseJobStateLines(acct.stdout));
  for (const id of jobIds) {
    const c = run('scontrol', ['-o', 'show', 'job', id], env);
    if (c.status === 0) sources.push(parseScontrolJobs(c.stdout));
  }
  return mergeStates(...sources);
}
