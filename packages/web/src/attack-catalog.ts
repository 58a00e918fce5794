// Every attack of robusta as the playground offers it: its parameters (with the library's defaults,
// bounds that keep one request's work finite, and the kind of input), which target modes it has, and
// how to construct it (choice values are checked against their list before they reach a constructor). The page builds its form from this list; the server validates a request
// against it; the attack's child process constructs the attack from it.
import { attacks } from 'robusta';

export type ParamKind = 'number' | 'integer' | 'choice' | 'boolean';

export interface AttackParam {
  name: string;
  label: string;
  kind: ParamKind;
  default: number | string | boolean;
  min?: number;
  max?: number;
  choices?: string[];
  help?: string;
}

export type PlaygroundMode = 'untargeted' | 'targeted' | 'random' | 'leastLikely';

export interface AttackEntry {
  /** The name a request uses (lower case). */
  id: string;
  /** The library's class name. */
  title: string;
  paper: string;
  params: AttackParam[];
  /** Whether targeted modes exist (the library's capability). */
  targeted: boolean;
  create(model: attacks.Classifier, p: Record<string, number | string | boolean>, mode: PlaygroundMode, seed: number): attacks.Attack;
}

const eps = (def: number, help = 'L∞ budget'): AttackParam => ({ name: 'eps', label: 'ε', kind: 'number', default: def, min: 0, max: 1e3, help });
const alpha = (def: number): AttackParam => ({ name: 'alpha', label: 'α (step size)', kind: 'number', default: def, min: 0, max: 1e3 });
const steps = (def: number, max = 10_000): AttackParam => ({ name: 'steps', label: 'steps', kind: 'integer', default: def, min: 1, max });
const norm: AttackParam = { name: 'norm', label: 'norm', kind: 'choice', default: 'Linf', choices: ['Linf', 'L2'] };
const restarts: AttackParam = { name: 'nRestarts', label: 'restarts', kind: 'integer', default: 1, min: 1, max: 20 };
const randomStart: AttackParam = { name: 'randomStart', label: 'random start', kind: 'boolean', default: true };

const n = (p: Record<string, unknown>, k: string) => p[k] as number;
const b = (p: Record<string, unknown>, k: string) => p[k] as boolean;

export const ATTACKS: readonly AttackEntry[] = [
  {
    id: 'fgsm', title: 'FGSM', paper: 'Goodfellow et al., ICLR 2015', targeted: true, params: [eps(8 / 255)],
    create: (m, p, mode, seed) => new attacks.FGSM(m, { eps: n(p, 'eps'), mode, seed }),
  },
  {
    id: 'bim', title: 'BIM', paper: 'Kurakin et al., 2017', targeted: true, params: [eps(8 / 255), alpha(2 / 255), steps(10)],
    create: (m, p, mode, seed) => new attacks.BIM(m, { eps: n(p, 'eps'), alpha: n(p, 'alpha'), steps: n(p, 'steps'), mode, seed }),
  },
  {
    id: 'pgd', title: 'PGD', paper: 'Madry et al., ICLR 2018', targeted: true, params: [eps(8 / 255), alpha(2 / 255), steps(10), randomStart],
    create: (m, p, mode, seed) => new attacks.PGD(m, { eps: n(p, 'eps'), alpha: n(p, 'alpha'), steps: n(p, 'steps'), randomStart: b(p, 'randomStart'), mode, seed }),
  },
  {
    id: 'pgdl2', title: 'PGDL2', paper: 'Madry et al., ICLR 2018 (L2)', targeted: true,
    params: [eps(1.0, 'L2 budget'), alpha(0.2), steps(10), randomStart],
    create: (m, p, mode, seed) => new attacks.PGDL2(m, { eps: n(p, 'eps'), alpha: n(p, 'alpha'), steps: n(p, 'steps'), randomStart: b(p, 'randomStart'), mode, seed }),
  },
  {
    id: 'tpgd', title: 'TPGD', paper: 'Zhang et al., ICML 2019 (TRADES loss)', targeted: false, params: [eps(8 / 255), alpha(2 / 255), steps(10)],
    create: (m, p, _mode, seed) => new attacks.TPGD(m, { eps: n(p, 'eps'), alpha: n(p, 'alpha'), steps: n(p, 'steps'), seed }),
  },
  {
    id: 'mifgsm', title: 'MIFGSM', paper: 'Dong et al., CVPR 2018', targeted: true,
    params: [eps(8 / 255), alpha(2 / 255), steps(10), { name: 'decay', label: 'momentum decay', kind: 'number', default: 1, min: 0, max: 10 }],
    create: (m, p, mode, seed) => new attacks.MIFGSM(m, { eps: n(p, 'eps'), alpha: n(p, 'alpha'), steps: n(p, 'steps'), decay: n(p, 'decay'), mode, seed }),
  },
  {
    id: 'cw', title: 'CW', paper: 'Carlini & Wagner, S&P 2017 (L2)', targeted: true,
    params: [
      { name: 'c', label: 'c', kind: 'number', default: 1, min: 0, max: 1e6 },
      { name: 'kappa', label: 'κ (confidence)', kind: 'number', default: 0, min: 0, max: 1e3 },
      steps(50), { name: 'lr', label: 'learning rate', kind: 'number', default: 0.01, min: 1e-9, max: 10 },
    ],
    create: (m, p, mode, seed) => new attacks.CW(m, { c: n(p, 'c'), kappa: n(p, 'kappa'), steps: n(p, 'steps'), lr: n(p, 'lr'), mode, seed }),
  },
  {
    id: 'deepfool', title: 'DeepFool', paper: 'Moosavi-Dezfooli et al., CVPR 2016', targeted: false,
    params: [steps(50, 1000), { name: 'overshoot', label: 'overshoot', kind: 'number', default: 0.02, min: 0, max: 10 }],
    create: (m, p, _mode, seed) => new attacks.DeepFool(m, { steps: n(p, 'steps'), overshoot: n(p, 'overshoot'), seed }),
  },
  {
    id: 'apgd', title: 'APGD', paper: 'Croce & Hein, ICML 2020', targeted: true,
    params: [norm, eps(8 / 255, 'budget (L∞ or L2)'), steps(100), restarts,
      { name: 'loss', label: 'loss', kind: 'choice', default: 'ce', choices: ['ce', 'dlr'] },
      { name: 'rho', label: 'ρ', kind: 'number', default: 0.75, min: 0, max: 1 }],
    create: (m, p, mode, seed) => new attacks.APGD(m, {
      norm: p.norm as attacks.Norm, eps: n(p, 'eps'), steps: n(p, 'steps'), nRestarts: n(p, 'nRestarts'), loss: p.loss as attacks.ApgdLoss, rho: n(p, 'rho'), mode, seed,
    }),
  },
  {
    id: 'apgdt', title: 'APGDT', paper: 'Croce & Hein, ICML 2020 (targeted DLR)', targeted: false,
    params: [norm, eps(8 / 255, 'budget (L∞ or L2)'), steps(100), restarts,
      { name: 'nTargetClasses', label: 'target classes', kind: 'integer', default: 9, min: 1, max: 999 }],
    create: (m, p, _mode, seed) => new attacks.APGDT(m, {
      norm: p.norm as attacks.Norm, eps: n(p, 'eps'), steps: n(p, 'steps'), nRestarts: n(p, 'nRestarts'), nTargetClasses: n(p, 'nTargetClasses'), seed,
    }),
  },
  {
    id: 'fab', title: 'FAB', paper: 'Croce & Hein, ICML 2020', targeted: true,
    params: [norm, eps(8 / 255, 'budget (L∞ or L2)'), steps(10, 1000), restarts,
      { name: 'alphaMax', label: 'α max', kind: 'number', default: 0.1, min: 0, max: 1 },
      { name: 'eta', label: 'η', kind: 'number', default: 1.05, min: 0, max: 10 },
      { name: 'beta', label: 'β', kind: 'number', default: 0.9, min: 0, max: 1 }],
    create: (m, p, mode, seed) => new attacks.FAB(m, {
      norm: p.norm as attacks.Norm, eps: n(p, 'eps'), steps: n(p, 'steps'), nRestarts: n(p, 'nRestarts'), alphaMax: n(p, 'alphaMax'),
      eta: n(p, 'eta'), beta: n(p, 'beta'), mode, seed,
    }),
  },
  {
    id: 'square', title: 'Square', paper: 'Andriushchenko et al., ECCV 2020 (score-based)', targeted: true,
    params: [norm, eps(8 / 255, 'budget (L∞ or L2)'),
      { name: 'nQueries', label: 'queries', kind: 'integer', default: 5000, min: 1, max: 100_000 }, restarts,
      { name: 'pInit', label: 'p init', kind: 'number', default: 0.8, min: 1e-6, max: 1 },
      { name: 'loss', label: 'loss', kind: 'choice', default: 'margin', choices: ['margin', 'ce'] }],
    create: (m, p, mode, seed) => new attacks.Square(m, {
      norm: p.norm as attacks.Norm, eps: n(p, 'eps'), nQueries: n(p, 'nQueries'), nRestarts: n(p, 'nRestarts'), pInit: n(p, 'pInit'), loss: p.loss as 'margin' | 'ce', mode, seed,
    }),
  },
  {
    id: 'autoattack', title: 'AutoAttack', paper: 'Croce & Hein, ICML 2020 (APGD-CE, APGD-T, FAB-T, Square)', targeted: false,
    params: [norm, eps(8 / 255, 'budget (L∞ or L2)'), { name: 'version', label: 'version', kind: 'choice', default: 'standard', choices: ['standard', 'rand'] },
      steps(100, 1000), { name: 'nQueries', label: 'Square queries', kind: 'integer', default: 5000, min: 1, max: 100_000 }],
    create: (m, p, _mode, seed) => new attacks.AutoAttack(m, {
      norm: p.norm as attacks.Norm, eps: n(p, 'eps'), version: p.version as 'standard' | 'rand', steps: n(p, 'steps'), nQueries: n(p, 'nQueries'), seed,
    }),
  },
  {
    id: 'tutorial', title: 'TutorialSGD', paper: 'Kolter & Madry, NeurIPS 2018 tutorial (SGD on δ)', targeted: true,
    params: [eps(2 / 255), { name: 'lr', label: 'learning rate', kind: 'number', default: 0.1, min: 0, max: 1e3 }, steps(30)],
    create: (m, p, mode, seed) => new attacks.TutorialSGD(m, { eps: n(p, 'eps'), lr: n(p, 'lr'), steps: n(p, 'steps'), mode, seed }),
  },
];

export function attackEntry(id: string): AttackEntry | undefined {
  return ATTACKS.find((a) => a.id === id);
}

/** '8/255', '0.1', '1e-3' → a number (a fraction is what people type for ε); NaN otherwise. */
export function parseNumberText(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v.length > 40) return NaN;
  const m = /^\s*([0-9.eE+-]+)\s*(?:\/\s*([0-9.eE+-]+)\s*)?$/.exec(v);
  if (!m) return NaN;
  const a = Number(m[1]), d = m[2] === undefined ? 1 : Number(m[2]);
  return d === 0 ? NaN : a / d;
}

/** Checks and completes the parameters of a request (defaults filled in); throws RangeError naming the bad one. */
export function resolveParams(entry: AttackEntry, given: Record<string, unknown>): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const key of Object.keys(given)) {
    if (!entry.params.some((p) => p.name === key)) throw new RangeError(`${entry.title} has no parameter '${key}'`);
  }
  for (const p of entry.params) {
    const v = given[p.name];
    if (v === undefined || v === '' || v === null) {
      out[p.name] = p.default;
      continue;
    }
    if (p.kind === 'boolean') {
      if (typeof v !== 'boolean') throw new RangeError(`${p.name} must be true or false`);
      out[p.name] = v;
    } else if (p.kind === 'choice') {
      if (typeof v !== 'string' || !p.choices!.includes(v)) throw new RangeError(`${p.name} must be one of ${p.choices!.join(', ')}`);
      out[p.name] = v;
    } else {
      const x = parseNumberText(v);
      if (!Number.isFinite(x)) throw new RangeError(`${p.name} must be a number (a fraction such as 8/255 is fine)`);
      if (p.kind === 'integer' && !Number.isInteger(x)) throw new RangeError(`${p.name} must be an integer`);
      if ((p.min !== undefined && x < p.min) || (p.max !== undefined && x > p.max)) {
        throw new RangeError(`${p.name} must lie in [${p.min ?? '-∞'}, ${p.max ?? '∞'}], got ${x}`);
      }
      out[p.name] = x;
    }
  }
  return out;
}

/** The catalog as the page receives it (no functions). */
export function catalogJson(): Omit<AttackEntry, 'create'>[] {
  return ATTACKS.map(({ create: _create, ...rest }) => rest);
}
