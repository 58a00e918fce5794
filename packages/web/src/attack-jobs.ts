// Playground attacks as jobs: each runs in a child process of its own (attack-worker.ts), at most one
// per client at a time and a few on the whole server, with a time limit. A job keeps every event its
// child sent, so a page that connects late (or reconnects) replays them and then follows live.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AttackRequest, WorkerMessage } from './attack-protocol.js';
import { type AttackLossRow, attackLossRows, topClassesSpec } from './charts.js';

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

/** What a page receives: the child's messages (with the chart of the top-5 classes), and the job's end. */
export type JobEvent = (WorkerMessage & { chart?: object; rows?: AttackLossRow[] }) | { type: 'end'; state: JobState; message?: string };

export interface JobSummary {
  id: string;
  state: JobState;
  attack: string;
  model: string;
  startedAt: string;
  seconds: number | null;
}

export class Job {
  readonly id = randomBytes(12).toString('hex');
  readonly startedAt = new Date();
  state: JobState = 'running';
  readonly events: JobEvent[] = [];
  /** PNG bytes of the pictures, once known. */
  readonly images = new Map<'original' | 'perturbation' | 'adversarial', Buffer>();
  endedAt: Date | null = null;
  private readonly emitter = new EventEmitter();
  child: ChildProcess | null = null;

  constructor(readonly clientId: string, readonly request: AttackRequest) {
    this.emitter.setMaxListeners(100);
  }

  summary(): JobSummary {
    return {
      id: this.id, state: this.state, attack: this.request.attack, model: this.request.model, startedAt: this.startedAt.toISOString(),
      seconds: this.endedAt ? (this.endedAt.getTime() - this.startedAt.getTime()) / 1000 : null,
    };
  }

  /** Every event so far, then each new one, until the job ends; returns the unsubscribe function. */
  subscribe(listener: (e: JobEvent) => void): () => void {
    for (const e of this.events) listener(e);
    if (this.state !== 'running') return () => {};
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  push(e: JobEvent): void {
    // Pictures travel as separate URLs; the event stream carries the rest.
    if (e.type === 'clean') {
      this.images.set('original', Buffer.from(e.original, 'base64'));
      e = { ...e, original: '', chart: topClassesSpec('Top-5 before the attack', e.top5, '#4c78a8') };
    } else if (e.type === 'loss') {
      e = { ...e, rows: attackLossRows(e.points) };
    } else if (e.type === 'done') {
      this.images.set('perturbation', Buffer.from(e.perturbation, 'base64'));
      this.images.set('adversarial', Buffer.from(e.adversarial, 'base64'));
      e = { ...e, perturbation: '', adversarial: '', chart: topClassesSpec('Top-5 after the attack', e.top5, '#e45756') };
    }
    this.events.push(e);
    this.emitter.emit('event', e);
  }

}

export class BusyError extends Error {
  constructor(message: string, readonly job: JobSummary | null, readonly status: 409 | 503) {
    super(message);
    this.name = 'BusyError';
  }
}

export interface JobLimits {
  /** Attacks running at once on the whole server (default 2). */
  maxRunning: number;
  /** Seconds before an attack is stopped (default 600). */
  maxSeconds: number;
  /** Finished jobs kept for their pictures (default 50, oldest dropped first). */
  keepFinished: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = { maxRunning: 2, maxSeconds: 600, keepFinished: 50 };

const WORKER = fileURLToPath(new URL('./attack-worker.js', import.meta.url));

export class AttackJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(readonly limits: JobLimits = DEFAULT_JOB_LIMITS) {}

  get(id: string): Job | undefined {
    return /^[0-9a-f]{24}$/.test(id) ? this.jobs.get(id) : undefined;
  }

  running(): Job[] {
    return [...this.jobs.values()].filter((j) => j.state === 'running');
  }

  /** Starts an attack for a client; BusyError when that client (409) or the server (503) is busy. */
  start(clientId: string, request: AttackRequest): Job {
    const mine = this.running().find((j) => j.clientId === clientId);
    if (mine) throw new BusyError('busy: your previous attack is still running; wait for it or cancel it', mine.summary(), 409);
    if (this.running().length >= this.limits.maxRunning) {
      throw new BusyError(`busy: ${this.limits.maxRunning} attacks are running on this server; try again when one ends`, null, 503);
    }
    const job = new Job(clientId, request);
    this.jobs.set(job.id, job);
    this.evictFinished();
    // No inherited node flags: a server started under --test or --inspect must not pass them on.
    const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', execArgv: [] });
    job.child = child;
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-2000); });
    child.on('message', (m: WorkerMessage) => {
      job.push(m);
      if (m.type === 'done') this.finish(job, 'done');
      else if (m.type === 'error') this.finish(job, 'failed', m.message);
    });
    child.on('exit', (code, signal) => {
      job.child = null;
      if (job.state === 'running') {
        this.finish(job, 'failed', `the attack process ended (${signal ?? `exit code ${code}`})${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`);
      }
    });
    child.on('error', (e) => this.finish(job, 'failed', e.message));
    child.send(request);
    this.timers.set(job.id, setTimeout(() => this.stop(job, 'failed', `stopped after ${this.limits.maxSeconds} s`), this.limits.maxSeconds * 1000));
    return job;
  }

  /** Cancels a running job (its child is killed). */
  cancel(job: Job): void {
    this.stop(job, 'cancelled', 'cancelled');
  }

  /** Kills every child (server shutdown). */
  close(): void {
    for (const job of this.running()) this.stop(job, 'cancelled', 'the server is shutting down');
  }

  private stop(job: Job, state: JobState, message: string): void {
    if (job.state !== 'running') return;
    job.child?.kill('SIGKILL');
    this.finish(job, state, message);
  }

  private finish(job: Job, state: JobState, message?: string): void {
    if (job.state !== 'running') return;
    job.state = state;
    job.endedAt = new Date();
    clearTimeout(this.timers.get(job.id));
    this.timers.delete(job.id);
    job.push({ type: 'end', state, ...(message ? { message } : {}) });
  }

  private evictFinished(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'running');
    for (const j of finished.slice(0, Math.max(0, finished.length - this.limits.keepFinished))) this.jobs.delete(j.id);
  }
}
