// MultiAttack (torchattacks' wrapper): several attacks in sequence, each on the examples every earlier
// one failed on, keeping per example the first success — the worst case over the attacks at the cost
// of running later attacks only where needed (the rule AutoAttack applies to its fixed ensemble;
// Croce & Hein, ICML 2020).
import * as torch from '@robusta/torch';
import { tidy } from '@robusta/torch';
import { Attack, type AttackInput, type AttackOptions, type AttackStage, type PerturbOutput } from './attack.js';

export interface MultiAttackOptions extends AttackOptions {
  /** Called after each attack with the examples still not fooled. */
  onStage?: (stage: AttackStage) => void;
}

/**
 * x* = x;  R = {all examples};  for a in attacks: x_a = a(x_R, y_R); for i ∈ R fooled by x_a:
 * x*_i = x_a,i and R ← R \ {i}.  "Fooled" is each attack's own success (prediction ≠ y, or = t when
 * targeted). All attacks must share the model. Untargeted, MultiAttack runs its attacks as they are
 * (their own modes, except 'targeted', which needs targets); in a targeted mode every attack must be in
 * mode 'targeted' and receives MultiAttack's targets. Examples misclassified when clean are attacked too, as in
 * torchattacks. `stages` reports the examples left after each attack; `queries` sums the attacks'
 * query counts where they report them.
 */
export class MultiAttack extends Attack {
  readonly attacks: readonly Attack[];
  private readonly onStage: ((stage: AttackStage) => void) | undefined;

  constructor(attacks: readonly Attack[], options: MultiAttackOptions = {}) {
    if (!Array.isArray(attacks) || attacks.length === 0) throw new TypeError('MultiAttack: give a non-empty array of attacks');
    for (const a of attacks) if (!(a instanceof Attack)) throw new TypeError('MultiAttack: every element must be an Attack');
    super('MultiAttack', attacks[0]!.model, options, { targeted: true });
    if (attacks.some((a) => a.model !== this.model)) throw new RangeError('MultiAttack: every attack must use the same model');
    for (const a of attacks) {
      if (this.targeted && a.mode !== 'targeted') {
        throw new RangeError(`MultiAttack: in a targeted mode every attack must be in mode 'targeted' and receives MultiAttack's targets (${a.name} is '${String(a.mode)}')`);
      }
      if (!this.targeted && a.mode === 'targeted') {
        throw new RangeError(`MultiAttack: ${a.name} is in mode 'targeted' and needs targets: give MultiAttack mode 'targeted' too`);
      }
    }
    this.attacks = [...attacks];
    this.onStage = options.onStage;
  }

  protected perturb({ images, labels, targets }: AttackInput): PerturbOutput {
    const n = images.shape[0]!;
    const adv = images.clone();
    const left = torch.ones([n], { dtype: 'bool', device: images.device });
    const queries = torch.zeros([n], { dtype: 'int64', device: images.device });
    let counted = false;
    const stages: AttackStage[] = [];
    for (const attack of this.attacks) {
      const started = performance.now();
      tidy(() => {
        const ids = left.nonzero().flatten();
        if (ids.shape[0] === 0) return;
        const r = attack.run(images.indexSelect(0, ids), labels.indexSelect(0, ids), attack.mode === 'targeted' ? targets!.indexSelect(0, ids) : undefined);
        // A component in a random or least-likely mode succeeds on its own targets; MultiAttack's
        // success (checked by run()) is the untargeted one, so count those only if the label changed.
        const ok = (this.targeted ? r.success : r.advPred.ne(labels.indexSelect(0, ids))).nonzero().flatten();
        if (r.queries) {
          counted = true;
          queries.indexPut_([ids], queries.indexSelect(0, ids).add(r.queries));
        }
        if (ok.shape[0] === 0) return;
        const okIds = ids.indexSelect(0, ok);
        adv.indexPut_([okIds], r.adv.indexSelect(0, ok));
        left.indexPut_([okIds], torch.zeros([okIds.shape[0]!], { dtype: 'bool', device: left.device }));
      });
      const stage: AttackStage = { attack: attack.name, robust: tidy(() => left.sum().item()), total: n, seconds: (performance.now() - started) / 1000 };
      stages.push(stage);
      this.onStage?.(stage);
    }
    left.dispose();
    if (!counted) {
      queries.dispose();
      return { adv, stages };
    }
    return { adv, stages, queries };
  }
}
