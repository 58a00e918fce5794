// AutoAttack — Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
// parameter-free attacks", ICML 2020: a fixed sequence of complementary attacks, each run only on the
// points all previous ones failed on; an example is robust only if it survives all of them.
import * as torch from '@robusta/torch';
import { tidy } from '@robusta/torch';
import { APGD } from './apgd.js';
import { APGDT } from './apgdt.js';
import { Attack, type AttackInput, type AttackOptions, type AttackStage, type PerturbOutput } from './attack.js';
import type { Classifier } from './classifier.js';
import { FAB } from './fab.js';
import { normOf } from './lp.js';
import { checkEps, checkNorm, checkSteps, type Norm } from './params.js';
import { Square } from './square.js';

export interface AutoAttackOptions extends Omit<AttackOptions, 'mode'> {
  norm?: Norm;
  /** Budget. Default 8/255 (Linf) or 0.5 (L2). */
  eps?: number;
  /**
   * 'standard': APGD-CE → APGD-T (9 targets) → FAB-T (9 targets) → Square (5000 queries);
   * 'rand' (for randomised defenses): APGD-CE → APGD-DLR, each with EOT over 20 gradient samples.
   */
  version?: 'standard' | 'rand';
  /** Iterations of APGD, APGD-T and FAB-T. Default 100. */
  steps?: number;
  /** Target classes of APGD-T and FAB-T. Default 9 (capped at C − 1). */
  nTargetClasses?: number;
  /** Square's query budget. Default 5000. */
  nQueries?: number;
  /** EOT samples of the 'rand' version. Default 20. */
  eotIter?: number;
  /** Called after each component attack. */
  onStage?: (stage: AttackStage) => void;
}

/** Slack when re-checking that a component's adversarial points respect the budget (float rounding). */
const BUDGET_SLACK = 1e-5;

export class AutoAttack extends Attack {
  readonly norm: Norm;
  readonly eps: number;
  readonly version: 'standard' | 'rand';
  readonly attacks: readonly Attack[];
  private readonly onStage: ((stage: AttackStage) => void) | undefined;

  constructor(model: Classifier, options: AutoAttackOptions = {}) {
    super('AutoAttack', model, options, { targeted: false }, 0);
    this.norm = checkNorm(this.name, options.norm ?? 'Linf');
    this.eps = checkEps(this.name, options.eps ?? (this.norm === 'Linf' ? 8 / 255 : 0.5));
    if (options.version !== undefined && options.version !== 'standard' && options.version !== 'rand') {
      throw new RangeError(`AutoAttack: version must be 'standard' or 'rand', got '${String(options.version)}'`);
    }
    this.version = options.version ?? 'standard';
    const steps = checkSteps(this.name, 'steps', options.steps ?? 100);
    const nTargetClasses = checkSteps(this.name, 'nTargetClasses', options.nTargetClasses ?? 9);
    const nQueries = checkSteps(this.name, 'nQueries', options.nQueries ?? 5000);
    const eotIter = checkSteps(this.name, 'eotIter', options.eotIter ?? 20);
    const common = { norm: this.norm, eps: this.eps, seed: this.seed, nRestarts: 1 };
    this.attacks = this.version === 'standard'
      ? [
        new APGD(model, { ...common, loss: 'ce', steps }),
        new APGDT(model, { ...common, steps, nTargetClasses }),
        new FAB(model, { ...common, multiTargeted: true, steps, nTargetClasses }),
        new Square(model, { ...common, nQueries }),
      ]
      : [
        new APGD(model, { ...common, loss: 'ce', steps, eotIter }),
        new APGD(model, { ...common, loss: 'dlr', steps, eotIter }),
      ];
    this.onStage = options.onStage;
  }

  protected perturb({ images, labels, cleanLogits }: AttackInput): PerturbOutput {
    const adv = images.clone();
    const robust = cleanLogits.argmax(1).eq(labels);
    const total = images.shape[0]!;
    const stages: AttackStage[] = [];
    for (const attack of this.attacks) {
      const started = performance.now();
      tidy(() => {
        const ids = robust.nonzero().flatten();
        if (ids.shape[0] === 0) return;
        const x = images.indexSelect(0, ids);
        // The official components re-seed at every call (perturb), so every batch of a dataset
        // evaluation starts them from the same seed: so do these.
        attack.resetRandomStream();
        const r = attack.run(x, labels.indexSelect(0, ids));
        // Count a point only if it is adversarial and inside the ε-ball.
        const inside = normOf(r.adv.sub(x), this.norm).le(this.eps + BUDGET_SLACK);
        const ok = r.success.logicalAnd(inside).nonzero().flatten();
        if (ok.shape[0] === 0) return;
        const okIds = ids.indexSelect(0, ok);
        adv.indexPut_([okIds], r.adv.indexSelect(0, ok));
        robust.indexPut_([okIds], torch.zeros([okIds.shape[0]!], { dtype: 'bool', device: robust.device }));
      });
      const stage: AttackStage = {
        attack: stageName(attack),
        robust: tidy(() => robust.sum().item()),
        total,
        seconds: (performance.now() - started) / 1000,
      };
      stages.push(stage);
      this.onStage?.(stage);
    }
    return { adv, stages };
  }
}

function stageName(a: Attack): string {
  if (a instanceof APGD) return `APGD-${a.loss.toUpperCase()}`;
  return a.name;
}

