// Differential evolution — Storn & Price, "Differential Evolution – A Simple and Efficient Heuristic for
// Global Optimization over Continuous Spaces", J. Global Optimization 1997: the 'best1bin' strategy as
// SciPy's differential_evolution runs it (dithered mutation, greedy selection, the best member kept in
// slot 0), for many independent problems at once so that a model evaluates all their populations in
// one batch. Used by OnePixel (Su, Vargas & Sakurai 2019).
import * as torch from '@robusta/torch';
import { keep, type Tensor, tidy, where } from '@robusta/torch';

export interface EvolutionOptions {
  /** Problems solved side by side (each with its own population). */
  problems: number;
  /** Parameters per member, each in the unit interval (the caller scales them). */
  dims: number;
  /** Members per population (≥ 3). */
  members: number;
  /** Generations at most. */
  generations: number;
  /** Mutation F drawn per generation and problem uniformly in [lo, hi) (SciPy's dithering). Default [0.5, 1]. */
  mutation?: [number, number];
  /** Crossover probability CR. Default 1 (the trial is the mutant). */
  recombination?: number;
  device?: torch.Device;
  /**
   * Energies (lower is better) of candidates [M, members, dims] of the problems `ids` (int64 [M]),
   * and whether each candidate already solves its problem (bool [M, members]).
   */
  evaluate: (candidates: Tensor, ids: Tensor) => { energy: Tensor; solved: Tensor };
}

export interface EvolutionResult {
  /** The best member of each problem, [problems, dims] in [0, 1]. */
  best: Tensor;
  /** Its energy, [problems]. */
  energy: Tensor;
  /** Candidates evaluated per problem, int64 [problems]. */
  evaluations: Tensor;
}

/**
 * Per generation and problem: F ~ U[lo, hi); for every member c, two others r₀ ≠ r₁ (both ≠ c) drawn
 * without replacement and the mutant b' = x_best + F·(x_{r₀} − x_{r₁}); binomial crossover with the
 * member (CR, and one random coordinate always from b'); coordinates outside [0, 1] are redrawn
 * uniformly; a trial replaces its member if its energy is lower, and the best slot if lower still.
 * A problem stops after the generation whose best member solves it (SciPy's callback), or after
 * `generations` generations.
 */
export function differentialEvolution(o: EvolutionOptions): EvolutionResult {
  const { problems: n, dims, members: p } = o;
  if (p < 3) throw new RangeError(`differentialEvolution: members must be >= 3, got ${p}`);
  const [lo, hi] = o.mutation ?? [0.5, 1];
  const cr = o.recombination ?? 1;
  const device = o.device ?? 'cpu';
  const all = torch.arange(n, undefined, 1, { device });
  // The initial population, its energies, and the best member moved to slot 0.
  const init = tidy(() => {
    const population = torch.rand([n, p, dims], { device });
    const { energy, solved } = o.evaluate(population, all);
    // Swap each population's best member into slot 0: order = (best, 1, ..., 0 at best's place, ...).
    const best = energy.argmin(1, true);
    const order = torch.arange(p, undefined, 1, { device }).expand([n, p]).scatter(1, best, 0).scatter(1, torch.zerosLike(best), best);
    return {
      population: population.gather(1, order.unsqueeze(2).expand([n, p, dims])),
      energy: energy.gather(1, order),
      solved: solved.gather(1, order),
    };
  });
  // Whether each problem's best member (slot 0) solves it.
  const state = { population: keep(init.population), energy: keep(init.energy), bestSolved: keep(init.solved.select(1, 0).clone()) };
  init.solved.dispose();
  const evaluations = keep(torch.full([n], p, { dtype: 'int64', device }));
  const running = keep(torch.ones([n], { dtype: 'bool', device }));
  for (let g = 0; g < o.generations; g++) {
    const more = tidy(() => {
      const ids = running.nonzero().flatten();
      const m = ids.shape[0]!;
      if (m === 0) return false;
      const pop = state.population.indexSelect(0, ids);
      const energy = state.energy.indexSelect(0, ids);
      const scale = torch.rand([m, 1, 1], { device }).mul(hi - lo).add(lo);
      // r₀, r₁: the two smallest of random keys, the member itself excluded.
      const keys = torch.rand([m, p, p], { device }).add(torch.eye(p, p, { device }).mul(2));
      const picks = keys.topk(2, 2, false).indices;                                  // [m, p, 2]
      const take = (k: number): Tensor => pop.gather(1, picks.select(2, k).unsqueeze(2).expand([m, p, dims]));
      const bestMember = pop.narrow(1, 0, 1);
      const mutant = bestMember.add(take(0).sub(take(1)).mul(scale));
      const fill = torch.randint(0, dims, [m, p, 1], { device });
      const cross = torch.rand([m, p, dims], { device }).lt(cr).scatter(2, fill, true);
      let trial = where(cross, mutant, pop);
      trial = where(trial.lt(0).logicalOr(trial.gt(1)), torch.rand([m, p, dims], { device }), trial);
      const evaluated = o.evaluate(trial, ids);
      const improved = evaluated.energy.lt(energy);
      let population = where(improved.unsqueeze(2), trial, pop);
      let energies = where(improved, evaluated.energy, energy);
      // The best slot: the first trial of least energy, if it beats the previous best.
      const { values: least, indices: which } = evaluated.energy.minDim(1, true);
      const newBest = least.lt(energy.narrow(1, 0, 1));                               // [m, 1]
      const bestTrial = trial.gather(1, which.unsqueeze(2).expand([m, 1, dims]));
      population = population.scatter(1, torch.zeros([m, 1, dims], { dtype: 'int64', device }),
        where(newBest.unsqueeze(2), bestTrial, population.narrow(1, 0, 1)));
      energies = energies.scatter(1, torch.zeros([m, 1], { dtype: 'int64', device }), where(newBest, least, energies.narrow(1, 0, 1)));
      const bestSolved = where(newBest.squeeze(1), evaluated.solved.gather(1, which).squeeze(1), state.bestSolved.indexSelect(0, ids));
      state.population.indexPut_([ids], population);
      state.energy.indexPut_([ids], energies);
      state.bestSolved.indexPut_([ids], bestSolved);
      evaluations.indexPut_([ids], evaluations.indexSelect(0, ids).add(p));
      running.indexPut_([ids], bestSolved.logicalNot());
      return true;
    });
    if (!more) break;
  }
  const best = tidy(() => state.population.select(1, 0).clone());
  const energy = tidy(() => state.energy.select(1, 0).clone());
  state.population.dispose();
  state.energy.dispose();
  state.bestSolved.dispose();
  running.dispose();
  all.dispose();
  return { best, energy, evaluations };
}
