// What robusta eval and robusta attack share about attacks: the --attacks / --method text read with
// the library's registry (mistakes become usage errors that list what is accepted), the targeted
// options, and the adversarial examples written as safetensors the way torchattacks' save() keeps them.
import { attacks, io, torch } from 'robusta';
import { UsageError } from './args.js';

/** Builds one attack from its text; a bad name, parameter or value is a usage error. */
export function buildAttack(model: attacks.Classifier, spec: attacks.AttackSpec | string, context: attacks.AttackContext): attacks.Attack {
  try {
    return attacks.createAttack(model, spec, context);
  } catch (e) {
    if (e instanceof attacks.AttackSpecError) throw new UsageError(e.message);
    throw e;
  }
}

/** Parses an attack list (pgd(steps=40), cw(c=1), ...). */
export function parseSpecs(text: string, option: string): attacks.AttackSpec[] {
  try {
    const specs = attacks.parseAttackSpecs(text);
    // Resolve every name and parameter now, so a typo in the last attack fails before the first runs.
    for (const s of specs) attacks.readAttackSpec(s);
    return specs;
  } catch (e) {
    if (e instanceof attacks.AttackSpecError) throw new UsageError(`${option}: ${e.message}`);
    throw e;
  }
}

/** Whether a spec (or one nested in it) names this attack. */
export function mentions(spec: attacks.AttackSpec, name: string): boolean {
  if (attacks.normalizeName(spec.name) === name) return true;
  return spec.args.some((a) => {
    const values = a.value.kind === 'tuple' ? a.value.items : [a.value];
    return values.some((v) => v.kind === 'call' && mentions(v.call, name));
  });
}

/**
 * The attack mode of --targeted / --target CLASS: a fixed target class for every example, or a random
 * class other than the label (torchattacks' set_mode_targeted_random).
 */
export function targetMode(targeted: boolean, target: number | null): attacks.AttackMode | undefined {
  if (target !== null) {
    return (_images, labels) => torch.full([labels.shape[0]!], target, { dtype: 'int64', device: labels.device });
  }
  return targeted ? 'random' : undefined;
}

/** Per-batch results of an attack, collected on the CPU for --save-adv. */
export interface Recorded {
  adv: torch.Tensor[];
  pred: torch.Tensor[];
}

/** Wraps attack.run so that every batch's adversarial images and predictions are kept (CPU copies). */
export function recordRuns(attack: attacks.Attack): Recorded {
  const rec: Recorded = { adv: [], pred: [] };
  const run = attack.run.bind(attack);
  attack.run = (images, labels, targets) => {
    const r = run(images, labels, targets);
    rec.adv.push(torch.keep(r.adv.detach().cpu().contiguous()));
    rec.pred.push(torch.keep(r.advPred.cpu().contiguous()));
    return r;
  };
  return rec;
}

/**
 * Writes the adversarial examples as safetensors, with torchattacks' save() keys: adv_inputs (float32
 * [N, ...]), labels and preds (int64 [N]); with several attacks, adv_inputs/preds are the worst case
 * (per example the first attack that fooled the model, else the last attack's point) and every
 * attack's own are under adv_inputs.<name> and preds.<name>. clean_preds holds the clean predictions.
 */
export function saveAdversarial(path: string, labels: torch.Tensor, cleanPred: torch.Tensor, runs: [string, Recorded][],
  metadata: Record<string, string>): void {
  torch.tidy(() => {
    const out: Record<string, torch.Tensor> = {};
    const per = runs.map(([name, r]) => ({ name, adv: torch.cat(r.adv, 0), pred: torch.cat(r.pred, 0) }));
    let adv = per[per.length - 1]!.adv;
    let pred = per[per.length - 1]!.pred;
    for (let k = per.length - 2; k >= 0; k--) {
      const fooled = per[k]!.pred.ne(labels);
      pred = torch.where(fooled, per[k]!.pred, pred);
      adv = torch.where(fooled.reshape([-1, ...new Array<number>(adv.ndim - 1).fill(1)]), per[k]!.adv, adv);
    }
    out.adv_inputs = adv.to({ dtype: 'float32' }).contiguous();
    out.labels = labels.cpu().contiguous();
    out.preds = pred;
    out.clean_preds = cleanPred.cpu().contiguous();
    if (per.length > 1) {
      for (const p of per) {
        out[`adv_inputs.${p.name}`] = p.adv.to({ dtype: 'float32' }).contiguous();
        out[`preds.${p.name}`] = p.pred;
      }
    }
    io.saveSafetensors(path, out, { ...metadata, attacks: JSON.stringify(runs.map(([n]) => n)) });
  });
  for (const [, r] of runs) for (const t of [...r.adv, ...r.pred]) t.dispose();
}
