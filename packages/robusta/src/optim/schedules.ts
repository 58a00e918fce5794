// Learning-rate schedules, as torch.optim.lr_scheduler (PyTorch 1.13): StepLR, MultiStepLR,
// ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, and SequentialLR to chain them (a linear
// warm-up followed by another schedule: linearWarmup()).
//
// Same protocol as PyTorch: constructing a scheduler performs its first step (epoch 0) and sets the
// groups' lr; call step() after each optimizer.step() (per epoch or per batch, as you design it).
// Each schedule is computed in closed form from the epoch counter — PyTorch's own closed forms, equal
// to its chainable updates up to float rounding (~1e-16 relative) — so saving and restoring the
// counter (stateDict/loadStateDict, together with the optimizer's state dict, which holds the lr,
// initialLr and momentum of each group) resumes a schedule exactly.

/** What a scheduler reads and writes in an optimizer: its groups' hyperparameters. */
export interface SchedulableOptimizer {
  readonly paramGroups: { lr: number; [key: string]: unknown }[];
  readonly defaults: object;
}

/** A scheduler's resumable state (plain JSON). */
export interface SchedulerState {
  lastEpoch: number;
  baseLrs: number[];
  lastLrs: number[];
  schedulers?: SchedulerState[];
}

function checkPositiveInt(what: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${what} must be a positive integer, got ${v}`);
  return v;
}
function checkFactor(what: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${what} must be in [0, 1], got ${v}`);
  return v;
}
/** The number of sorted values <= x (Python's bisect.bisect_right). */
function bisectRight(sorted: readonly number[], x: number): number {
  let i = 0;
  while (i < sorted.length && sorted[i]! <= x) i++;
  return i;
}

export abstract class LRScheduler {
  readonly optimizer: SchedulableOptimizer;
  /** The index of the current epoch (or batch): 0 after construction. */
  lastEpoch: number;
  /** Each group's initial lr (group.initialLr), from which the schedule is computed. */
  baseLrs: number[];
  protected lastLrs: number[] = [];

  /**
   * lastEpoch = -1 starts a schedule: each group's initialLr is set to its lr unless present.
   * Otherwise the groups must already hold initialLr (resuming, as in PyTorch).
   */
  constructor(optimizer: SchedulableOptimizer, lastEpoch = -1) {
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (typeof g.initialLr !== 'number') {
        throw new TypeError(`param group ${i} has no initialLr: resuming a schedule (lastEpoch ${lastEpoch}) needs the optimizer's state`);
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** PyTorch's initial step; subclass constructors call it once their fields are set. */
  protected initialStep(): void {
    this.step();
  }

  /** The learning rate of each group at an epoch. */
  abstract lrsAt(epoch: number): number[];

  /** Hyperparameters other than lr that the schedule sets at an epoch (OneCycle's momentum). */
  protected applyExtras(_epoch: number): void {}

  /** Advances one epoch and sets each group's lr. */
  step(): void {
    this.lastEpoch += 1;
    this.applyAt(this.lastEpoch);
  }

  /** Sets the groups' hyperparameters to the schedule's values at an epoch. */
  applyAt(epoch: number): void {
    const lrs = this.lrsAt(epoch);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.applyExtras(epoch);
    this.lastLrs = lrs.slice();
  }

  /** The lr of each group set by the latest step. */
  getLastLr(): number[] {
    return this.lastLrs.slice();
  }

  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice(), lastLrs: this.lastLrs.slice() };
  }

  /** Restores the counter; restore the optimizer's state dict too, which holds the groups' lr. */
  loadStateDict(s: SchedulerState): void {
    if (s.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new RangeError(`scheduler state has ${s.baseLrs.length} groups, the optimizer ${this.optimizer.paramGroups.length}`);
    }
    this.lastEpoch = s.lastEpoch;
    this.baseLrs = s.baseLrs.slice();
    this.lastLrs = s.lastLrs.slice();
  }
}

/** lr = base · γ^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: SchedulableOptimizer, o: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    super(optimizer, o.lastEpoch);
    this.stepSize = checkPositiveInt('StepLR stepSize', o.stepSize);
    this.gamma = o.gamma ?? 0.1;
    this.initialStep();
  }
  lrsAt(epoch: number): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(epoch / this.stepSize));
  }
}

/** lr = base · γ^(number of milestones ≤ epoch); a milestone listed twice counts twice, as in PyTorch. */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: SchedulableOptimizer, o: { milestones: number[]; gamma?: number; lastEpoch?: number }) {
    super(optimizer, o.lastEpoch);
    this.milestones = [...o.milestones].sort((a, b) => a - b);
    for (const m of this.milestones) if (!Number.isInteger(m) || m < 0) throw new RangeError(`MultiStepLR milestones must be integers >= 0, got ${m}`);
    this.gamma = o.gamma ?? 0.1;
    this.initialStep();
  }
  lrsAt(epoch: number): number[] {
    const k = bisectRight(this.milestones, epoch);
    return this.baseLrs.map((b) => b * this.gamma ** k);
  }
}

/** lr = base · γ^epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: SchedulableOptimizer, o: { gamma: number; lastEpoch?: number }) {
    super(optimizer, o.lastEpoch);
    this.gamma = o.gamma;
    this.initialStep();
  }
  lrsAt(epoch: number): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** epoch);
  }
}

/**
 * lr = η_min + (base − η_min) · (1 + cos(π · epoch / T_max)) / 2 (SGDR without restarts,
 * Loshchilov & Hutter 2017); past T_max the cosine continues periodically, as PyTorch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: SchedulableOptimizer, o: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer, o.lastEpoch);
    this.tMax = checkPositiveInt('CosineAnnealingLR tMax', o.tMax);
    this.etaMin = o.etaMin ?? 0;
    this.initialStep();
  }
  lrsAt(epoch: number): number[] {
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * (1 + Math.cos(Math.PI * epoch / this.tMax)) / 2);
  }
}

/** lr = base · (s + (e − s) · min(totalIters, epoch) / totalIters): a linear ramp of the factor from s to e. */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: SchedulableOptimizer, o: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    super(optimizer, o.lastEpoch);
    this.startFactor = checkFactor('LinearLR startFactor', o.startFactor ?? 1 / 3);
    this.endFactor = checkFactor('LinearLR endFactor', o.endFactor ?? 1);
    this.totalIters = checkPositiveInt('LinearLR totalIters', o.totalIters ?? 5);
    this.initialStep();
  }
  lrsAt(epoch: number): number[] {
    const f = this.startFactor + (this.endFactor - this.startFactor) * Math.min(this.totalIters, epoch) / this.totalIters;
    return this.baseLrs.map((b) => b * f);
  }
}

export interface OneCycleOptions {
  /** The peak lr (per group or one for all). */
  maxLr: number | number[];
  /** The number of steps of the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** The fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD) or β₁ (Adam) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  /** Default 0.85. */
  baseMomentum?: number | number[];
  /** Default 0.95. */
  maxMomentum?: number | number[];
  /** initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minimum lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initial, down to minimum) instead of two (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin 2019, "Super-Convergence"): the lr rises from maxLr/divFactor to
 * maxLr over pctStart of the steps, then anneals to maxLr/(divFactor·finalDivFactor); momentum
 * moves the opposite way between maxMomentum and baseMomentum. Step it once per batch.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  readonly annealStrategy: 'cos' | 'linear';
  readonly #phases: Phase[];

  constructor(optimizer: SchedulableOptimizer, o: OneCycleOptions) {
    super(optimizer, o.lastEpoch);
    const lastEpoch = o.lastEpoch ?? -1;
    if (o.totalSteps !== undefined) this.totalSteps = checkPositiveInt('OneCycleLR totalSteps', o.totalSteps);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      this.totalSteps = checkPositiveInt('OneCycleLR epochs', o.epochs) * checkPositiveInt('OneCycleLR stepsPerEpoch', o.stepsPerEpoch);
    } else throw new TypeError('OneCycleLR needs totalSteps, or epochs and stepsPerEpoch');
    const pctStart = o.pctStart ?? 0.3;
    if (!(pctStart >= 0 && pctStart <= 1)) throw new RangeError(`OneCycleLR pctStart must be in [0, 1], got ${pctStart}`);
    this.annealStrategy = o.annealStrategy ?? 'cos';
    if (this.annealStrategy !== 'cos' && this.annealStrategy !== 'linear') {
      throw new TypeError(`annealStrategy must be 'cos' or 'linear', got '${String(this.annealStrategy)}'`);
    }
    const n = this.totalSteps;
    this.#phases = o.threePhase
      ? [
        { endStep: pctStart * n - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pctStart * n - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: n - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ]
      : [
        { endStep: pctStart * n - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: n - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      ];
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, v: number | number[]): number[] => {
      if (!Array.isArray(v)) return groups.map(() => v);
      if (v.length !== groups.length) throw new RangeError(`expected ${groups.length} values for ${name}, got ${v.length}`);
      return v;
    };
    const divFactor = o.divFactor ?? 25;
    const finalDivFactor = o.finalDivFactor ?? 1e4;
    const maxLrs = perGroup('maxLr', o.maxLr);
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i]! / divFactor;
        g.maxLr = maxLrs[i]!;
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
    }
    this.cycleMomentum = o.cycleMomentum ?? true;
    this.useBeta1 = 'betas' in optimizer.defaults;
    if (this.cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !this.useBeta1) {
        throw new TypeError('optimizer must support momentum (momentum or betas) with the cycleMomentum option');
      }
      const maxMomenta = perGroup('maxMomentum', o.maxMomentum ?? 0.95);
      const baseMomenta = perGroup('baseMomentum', o.baseMomentum ?? 0.85);
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          if (this.useBeta1) g.betas = [maxMomenta[i]!, ...(g.betas as number[]).slice(1)];
          else g.momentum = maxMomenta[i]!;
          g.maxMomentum = maxMomenta[i]!;
          g.baseMomentum = baseMomenta[i]!;
        });
      }
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.initialStep();
  }

  #anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + (start - end) / 2.0 * cosOut;
  }

  /** The phase containing a step and the fraction of it done. */
  #position(step: number): { phase: Phase; pct: number } {
    if (step > this.totalSteps) {
      throw new RangeError(`Tried to step ${step + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    let startStep = 0;
    for (let i = 0; i < this.#phases.length; i++) {
      const phase = this.#phases[i]!;
      if (step <= phase.endStep || i === this.#phases.length - 1) return { phase, pct: (step - startStep) / (phase.endStep - startStep) };
      startStep = phase.endStep;
    }
    throw new Error('unreachable');
  }

  lrsAt(epoch: number): number[] {
    const { phase, pct } = this.#position(epoch);
    return this.optimizer.paramGroups.map((g) => this.#anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct));
  }

  /** The momentum (or β₁) of each group at a step. */
  momentaAt(epoch: number): number[] {
    const { phase, pct } = this.#position(epoch);
    return this.optimizer.paramGroups.map((g) => this.#anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct));
  }

  protected override applyExtras(epoch: number): void {
    if (!this.cycleMomentum) return;
    const m = this.momentaAt(epoch);
    this.optimizer.paramGroups.forEach((g, i) => {
      if (this.useBeta1) g.betas = [m[i]!, ...(g.betas as number[]).slice(1)];
      else g.momentum = m[i]!;
    });
  }
}

/**
 * Runs schedulers one after another, switching at the milestones (PyTorch's SequentialLR): before
 * milestones[0] the first, then the second restarted at its epoch 0, and so on. All schedulers must
 * drive the same optimizer and be constructed before this one.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(optimizer: SchedulableOptimizer, schedulers: LRScheduler[], milestones: number[]) {
    super(optimizer, -1);
    if (schedulers.length === 0) throw new RangeError('SequentialLR needs at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new TypeError(`SequentialLR: scheduler ${i} drives another optimizer`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new RangeError(`SequentialLR expects one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`);
    }
    for (let i = 1; i < milestones.length; i++) {
      if (!(milestones[i]! > milestones[i - 1]!)) throw new RangeError('SequentialLR milestones must increase');
    }
    this.schedulers = schedulers;
    this.milestones = milestones.slice();
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    this.lastEpoch = 0;
    this.applyAt(0);
  }

  #locate(epoch: number): { scheduler: LRScheduler; local: number } {
    const idx = bisectRight(this.milestones, epoch);
    return { scheduler: this.schedulers[idx]!, local: idx === 0 ? epoch : epoch - this.milestones[idx - 1]! };
  }

  lrsAt(epoch: number): number[] {
    const { scheduler, local } = this.#locate(epoch);
    return scheduler.lrsAt(local);
  }

  override applyAt(epoch: number): void {
    const { scheduler, local } = this.#locate(epoch);
    scheduler.lastEpoch = local;
    scheduler.applyAt(local);
    this.lastLrs = scheduler.getLastLr();
  }

  override stateDict(): SchedulerState {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(s: SchedulerState): void {
    super.loadStateDict(s);
    if (!s.schedulers || s.schedulers.length !== this.schedulers.length) {
      throw new RangeError(`SequentialLR state must hold ${this.schedulers.length} scheduler states`);
    }
    s.schedulers.forEach((sub, i) => this.schedulers[i]!.loadStateDict(sub));
  }
}

export interface WarmupOptions {
  /** The number of steps (or epochs) of the ramp. */
  warmupSteps: number;
  /** The lr factor at step 0 (default 1/3, PyTorch's LinearLR default); it reaches 1 at warmupSteps. */
  startFactor?: number;
}

/**
 * A linear warm-up from startFactor·lr to lr over warmupSteps, then `after` (restarted at its epoch
 * 0), e.g. linearWarmup(opt, {warmupSteps: 5}, (o) => new CosineAnnealingLR(o, {tMax: 95})). Equal to
 * PyTorch's SequentialLR([LinearLR(opt, start, 1, warmupSteps), after], [warmupSteps]).
 */
export function linearWarmup(optimizer: SchedulableOptimizer, o: WarmupOptions,
  after?: (optimizer: SchedulableOptimizer) => LRScheduler): LRScheduler {
  const warmup = new LinearLR(optimizer, { startFactor: o.startFactor ?? 1 / 3, endFactor: 1, totalIters: o.warmupSteps });
  if (after === undefined) return warmup;
  return new SequentialLR(optimizer, [warmup, after(optimizer)], [o.warmupSteps]);
}
