// The states of a job array's tasks as Slurm reports them, read from three sources that complement
// each other: squeue (pending and running tasks; the freshest), sacct (every task, but only where
// accounting is configured) and scontrol (every task slurmctld still remembers: MinJobAge after its end).
// Pending tasks of an array are reported together (123_[4-9%2]); they are expanded to one per task.
// Worker ids of Slurm tasks carry their task (host:pid:slurm=<job>_<task>), so a run's holder can be
// looked up.

/** A task's state, e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY. */
export type SlurmState = string;

/** Job id → task index → state. */
export type TaskStates = Map<string, Map<number, SlurmState>>;

/** States in which a task still runs or may still start. */
const LIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);

export const isLiveState = (s: SlurmState | undefined): boolean => s !== undefined && LIVE.has(s);

/** Task indices of an array expression: "3", "0-5", "[0-5%2]", "1,4-6:2". */
export function expandTaskIds(expr: string): number[] {
  const body = expr.replace(/^\[|\]$/g, '').replace(/%\d+$/, '');
  const out: number[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/** The first word of a state ("CANCELLED by 0" → CANCELLED; "RUNNING+" → RUNNING). */
const normalise = (s: string): SlurmState => s.trim().split(/\s+/)[0]!.replace(/\+$/, '').toUpperCase();

function put(states: TaskStates, job: string, tasks: number[], state: SlurmState): void {
  let m = states.get(job);
  if (!m) states.set(job, (m = new Map()));
  for (const t of tasks) m.set(t, state);
}

/** `<job>_<task expr>|STATE` lines (squeue -h -r -o '%i|%T' and sacct -n -P -X -o JobID,State). */
export function parseJobStateLines(text: string): TaskStates {
  const states: TaskStates = new Map();
  for (const line of text.split('\n')) {
    const [id, state] = line.split('|');
    if (!id || !state) continue;
    const m = /^(\d+)(?:_(.+))?$/.exec(id.trim());
    if (!m) continue; // job steps (123_4.batch) and anything else
    if (m[2] !== undefined && /\./.test(m[2])) continue;
    put(states, m[1]!, m[2] === undefined ? [0] : expandTaskIds(m[2]), normalise(state));
  }
  return states;
}

/** `scontrol -o show job` records (one per line). */
export function parseScontrolJobs(text: string): TaskStates {
  const states: TaskStates = new Map();
  for (const line of text.split('\n')) {
    const field = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S+)`).exec(line)?.[1];
    const state = field('JobState');
    if (!state) continue;
    const arrayJob = field('ArrayJobId');
    const task = field('ArrayTaskId');
    if (arrayJob && task) put(states, arrayJob, expandTaskIds(task), normalise(state));
    else {
      const job = field('JobId');
      if (job) put(states, job, [0], normalise(state));
    }
  }
  return states;
}

/** Merges sources, the earlier ones taking precedence task by task. */
export function mergeStates(...sources: TaskStates[]): TaskStates {
  const out: TaskStates = new Map();
  for (const source of [...sources].reverse()) {
    for (const [job, tasks] of source) for (const [t, s] of tasks) put(out, job, [t], s);
  }
  return out;
}

/** The Slurm task in a worker id (host:pid:slurm=<job>_<task>), or null for a local worker. */
export function slurmTaskOf(worker: string): { job: string; task: number } | null {
  const m = /:slurm=(\d+)(?:_(\d+))?$/.exec(worker);
  return m ? { job: m[1]!, task: m[2] === undefined ? 0 : Number(m[2]) } : null;
}

/** The worker id of this process inside a Slurm task (host:pid:slurm=<job>_<task>), or null outside Slurm. */
export function slurmWorkerSuffix(env: NodeJS.ProcessEnv = process.env): string | null {
  const job = env.SLURM_ARRAY_JOB_ID ?? env.SLURM_JOB_ID;
  if (!job) return null;
  return `:slurm=${job}${env.SLURM_ARRAY_TASK_ID !== undefined ? `_${env.SLURM_ARRAY_TASK_ID}` : ''}`;
}

/** Tasks counted by state, e.g. "2 RUNNING, 1 PENDING, 1 CANCELLED". */
export function summariseTasks(tasks: Map<number, SlurmState> | undefined, total: number): Record<SlurmState, number> {
  const counts: Record<SlurmState, number> = {};
  for (let t = 0; t < total; t++) {
    const s = tasks?.get(t) ?? 'UNKNOWN';
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
}
