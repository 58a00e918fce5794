// The sbatch script of a study's job array: one array task per run (or per chunk of runs), each
// running `robusta study worker`, which claims runs from the store until none is left. Tasks do not
// own runs: whichever task is alive claims whatever is claimable, so a cancelled or killed task costs
// only the lease of the run it held (the run resumes from its last epoch in another task).
//
//   #SBATCH --array=0-(tasks-1)%parallelism   --gres=gpu:N   --cpus-per-task   --mem   --time
//   exec node robusta study worker STORE --study NAME --runs SHARED/runs --lease S --wait
import type { SlurmSection } from '../spec.js';

/** The spec's slurm section in the library's names. */
export interface SlurmResources {
  partition?: string;
  account?: string;
  gpus?: number;
  cpusPerTask?: number;
  mem?: string | number;
  time?: string | number;
  arrayParallelism?: number;
  runsPerTask?: number;
  sharedDir?: string;
  setup?: string;
}

export function resourcesFromSpec(s: SlurmSection | undefined): SlurmResources {
  if (!s) return {};
  return {
    partition: s.partition, account: s.account, gpus: s.gpus, cpusPerTask: s.cpus_per_task, mem: s.mem, time: s.time,
    arrayParallelism: s.array_parallelism, runsPerTask: s.runs_per_task, sharedDir: s.shared_dir, setup: s.setup,
  };
}

export interface SbatchScriptOptions {
  /** Job name (robusta-<study>). */
  jobName: string;
  resources: SlurmResources;
  /** Array tasks (indices 0 … tasks-1). */
  tasks: number;
  /** Folder of the tasks' output files (<job name>-<job>_<task>.out). */
  logDir: string;
  /** Working directory of the tasks. */
  workDir: string;
  /** Exported before the worker starts (threads). */
  env: Record<string, string>;
  /** The worker's command line (program first). */
  command: string[];
}

/** A word for bash, quoted when it needs to be. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const sbatchValue = (v: string | number): string => {
  const s = String(v);
  if (/[\s'"\\$`]/.test(s)) throw new TypeError(`an sbatch option value cannot contain spaces or quotes: ${JSON.stringify(s)}`);
  return s;
};

export function sbatchScript(o: SbatchScriptOptions): string {
  if (!Number.isInteger(o.tasks) || o.tasks < 1) throw new RangeError(`a job array needs at least one task (got ${o.tasks})`);
  const r = o.resources;
  const lines = [
    '#!/bin/bash',
    `# ${o.jobName}: ${o.tasks} task(s) of robusta study workers, written by robusta study run --executor slurm`,
    `#SBATCH --job-name=${sbatchValue(o.jobName)}`,
    `#SBATCH --array=0-${o.tasks - 1}${r.arrayParallelism ? `%${r.arrayParallelism}` : ''}`,
    `#SBATCH --ntasks=1`,
    `#SBATCH --output=${sbatchValue(`${o.logDir}/%x-%A_%a.out`)}`,
    `#SBATCH --chdir=${sbatchValue(o.workDir)}`,
  ];
  if (r.partition) lines.push(`#SBATCH --partition=${sbatchValue(r.partition)}`);
  if (r.account) lines.push(`#SBATCH --account=${sbatchValue(r.account)}`);
  if (r.gpus) lines.push(`#SBATCH --gres=gpu:${r.gpus}`);
  if (r.cpusPerTask) lines.push(`#SBATCH --cpus-per-task=${r.cpusPerTask}`);
  if (r.mem !== undefined) lines.push(`#SBATCH --mem=${sbatchValue(r.mem)}`);
  if (r.time !== undefined) lines.push(`#SBATCH --time=${sbatchValue(r.time)}`);
  lines.push('set -eo pipefail');
  for (const [k, v] of Object.entries(o.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`not an environment variable name: ${k}`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  if (r.setup?.trim()) lines.push('# setup from the spec', r.setup.trim());
  // exec: the worker is the task's process, so scancel's signals and the task's exit status are its own.
  lines.push(`exec ${o.command.map(shellQuote).join(' ')}`, '');
  return lines.join('\n');
}
