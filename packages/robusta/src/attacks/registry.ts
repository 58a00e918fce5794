// The attacks by name, with typed parameters: what the command line (robusta attacks / eval / attack)
// and other text front ends build attacks from. Names and parameters are torchattacks' (PGD, n_queries,
// random_start, ...), matched without regard to case or underscores, so that robusta's camelCase
// options (nQueries, randomStart) are accepted too. Adding an attack is adding one entry below.
import type { Attack, AttackMode } from './attack.js';
import { APGD } from './apgd.js';
import { APGDT } from './apgdt.js';
import { AutoAttack } from './autoattack.js';
import { BIM } from './bim.js';
import type { Classifier } from './classifier.js';
import { CW } from './cw.js';
import { DeepFool } from './deepfool.js';
import { DIFGSM } from './difgsm.js';
import { EADEN, EADL1 } from './ead.js';
import { EOTPGD } from './eotpgd.js';
import { FAB } from './fab.js';
import { FFGSM } from './ffgsm.js';
import { FGSM } from './fgsm.js';
import { GN } from './gn.js';
import { Jitter } from './jitter.js';
import { JSMA } from './jsma.js';
import { LGV, type TrainableClassifier, type TrainBatches } from './lgv.js';
import { MIFGSM } from './mifgsm.js';
import { MultiAttack } from './multiattack.js';
import { NIFGSM } from './nifgsm.js';
import { OnePixel } from './onepixel.js';
import { PGD } from './pgd.js';
import { PGDL2 } from './pgdl2.js';
import { PGDRS } from './pgdrs.js';
import { PGDRSL2 } from './pgdrsl2.js';
import { PIFGSM } from './pifgsm.js';
import { PIFGSMPP } from './pifgsmpp.js';
import { Pixle } from './pixle.js';
import { RFGSM } from './rfgsm.js';
import { SINIFGSM } from './sinifgsm.js';
import { SparseFool } from './sparsefool.js';
import { AttackSpecError, type AttackSpec, formatAttackSpec, parseAttackSpecs, type SpecValue } from './spec.js';
import { SPSA } from './spsa.js';
import { Square } from './square.js';
import { TIFGSM } from './tifgsm.js';
import { TPGD } from './tpgd.js';
import { TutorialSGD } from './tutorial-sgd.js';
import { UPGD } from './upgd.js';
import { VANILA } from './vanila.js';
import { VMIFGSM } from './vmifgsm.js';
import { VNIFGSM } from './vnifgsm.js';

/** How a parameter's text is read. */
export type ParamKind = 'number' | 'integer' | 'boolean' | 'choice' | 'norm' | 'side' | 'attacks';

export interface ParamSpec {
  /** robusta's option name (camelCase); torchattacks' snake_case spelling is matched to it. */
  name: string;
  kind: ParamKind;
  doc: string;
  /** 'choice': the accepted values. */
  choices?: readonly string[];
  /** Other names accepted for it (torchattacks spellings that are not mechanical renames). */
  aliases?: readonly string[];
  /** The default when the attack does not store it under `name` (otherwise read from a default-built attack). */
  default?: unknown;
}

/** The threat model an attack's budget is measured in ('norm': chosen by its `norm` parameter). */
export type ThreatModel = 'Linf' | 'L2' | 'L1' | 'L0' | 'norm' | 'none';

/** What building an attack may need beyond its parameters. */
export interface AttackServices {
  /** LGV's training batches (e.g. the dataset's training split). */
  trainLoader?: () => TrainBatches;
  /** LGV: a fresh model of the attacked model's architecture. */
  copyModel?: () => TrainableClassifier;
}

export interface AttackEntry {
  /** The name on the command line: lower case, as torchattacks' class name. */
  name: string;
  /** The robusta (and torchattacks) class. */
  className: string;
  summary: string;
  threat: ThreatModel;
  /** Whether it has targeted modes. */
  targeted: boolean;
  params: readonly ParamSpec[];
  /** Other names (e.g. 'pifgsm++'). */
  aliases?: readonly string[];
  /** The option holding the budget when it is not `eps` (PI-FGSM's maxEpsilon). */
  epsParam?: string;
  create: (model: Classifier, options: Record<string, unknown>, build: BuildContext) => Attack;
}

/** Passed to an entry's create(): services and the way to build nested attacks (MultiAttack). */
export interface BuildContext {
  services: AttackServices;
  nested: (spec: AttackSpec) => Attack;
}

// ---- parameter shorthands -------------------------------------------------------------------------
const p = (name: string, kind: ParamKind, doc: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ name, kind, doc, ...extra });
const EPS = p('eps', 'number', 'budget ε');
const ALPHA = p('alpha', 'number', 'step size α');
const STEPS = p('steps', 'integer', 'iterations');
const RANDOM_START = p('randomStart', 'boolean', 'start at a random point of the ε-ball');
const DECAY = p('decay', 'number', 'momentum decay μ');
const NORM = p('norm', 'norm', "threat model: 'Linf' or 'L2'");
const N_RESTARTS = p('nRestarts', 'integer', 'restarts on the examples not yet fooled');
const EOT_ITER = p('eotIter', 'integer', 'gradient samples averaged per step (EOT)');
const RESIZE_RATE = p('resizeRate', 'number', 'resize factor of the input-diversity transform');
const DIVERSITY_PROB = p('diversityProb', 'number', 'probability of the input-diversity transform');
const SMOOTHING = [
  p('noiseType', 'choice', "noise of the smoothed classifier", { choices: ['gaussian', 'uniform'] }),
  p('noiseSd', 'number', 'σ of the noise'),
  p('noiseBatchSize', 'integer', 'noise draws per example and step'),
  p('batchMax', 'integer', 'most noisy images per forward pass'),
];
/** torchattacks' n_classes counts all classes; robusta's nTargetClasses the targets (C − 1). */
const N_TARGET_CLASSES = p('nTargetClasses', 'integer', 'target classes tried (torchattacks n_classes = this + 1)', { aliases: ['n_target_classes'] });
const PIFGSM_PARAMS = [
  p('maxEpsilon', 'number', 'L∞ budget ε'), p('numIterSet', 'integer', 'iterations T'), p('momentum', 'number', 'momentum (unused, as in torchattacks)'),
  p('amplification', 'number', 'amplification factor β'), p('prob', 'number', 'probability (unused, as in torchattacks)'),
];
const SIDE = 'a pixel count, a fraction of the side, or (min, max)';

type Ctor<O> = new (model: Classifier, options: O) => Attack;
function entry<O>(name: string, cls: Ctor<O>, summary: string, threat: ThreatModel, targeted: boolean, params: ParamSpec[],
  extra: Partial<AttackEntry> = {}): AttackEntry {
  return { name, className: CLASS_NAMES[name] ?? name.toUpperCase(), summary, threat, targeted, params, create: (m, o) => new cls(m, o as O), ...extra };
}
const CLASS_NAMES: Record<string, string> = {
  deepfool: 'DeepFool', square: 'Square', autoattack: 'AutoAttack', sparsefool: 'SparseFool', onepixel: 'OnePixel', pixle: 'Pixle',
  multiattack: 'MultiAttack', jitter: 'Jitter', tutorial: 'TutorialSGD',
};

/** Every attack of robusta's attacks module. */
export const ATTACKS: readonly AttackEntry[] = [
  entry('vanila', VANILA, 'the clean images unchanged (a baseline)', 'none', false, []),
  entry('gn', GN, 'Gaussian noise x + N(0, std²)', 'none', false, [p('std', 'number', 'noise standard deviation')]),
  entry('fgsm', FGSM, 'one signed-gradient step (Goodfellow et al. 2015)', 'Linf', true, [EPS]),
  entry('bim', BIM, 'iterated FGSM from x (Kurakin et al. 2017)', 'Linf', true, [EPS, ALPHA, STEPS]),
  entry('rfgsm', RFGSM, 'R+FGSM: a random step, then FGSM (Tramèr et al. 2018)', 'Linf', true, [EPS, ALPHA, STEPS]),
  entry('pgd', PGD, 'projected gradient descent with random start (Madry et al. 2018)', 'Linf', true, [EPS, ALPHA, STEPS, RANDOM_START]),
  entry('eotpgd', EOTPGD, 'PGD with gradients averaged over randomness (EOT; Athalye et al. 2018)', 'Linf', true, [EPS, ALPHA, STEPS, EOT_ITER, RANDOM_START]),
  entry('ffgsm', FFGSM, 'fast FGSM with random init (Wong et al. 2020)', 'Linf', true, [EPS, ALPHA]),
  entry('tpgd', TPGD, 'PGD on the KL divergence to the clean prediction (TRADES; Zhang et al. 2019)', 'Linf', false, [EPS, ALPHA, STEPS]),
  entry('mifgsm', MIFGSM, 'momentum iterative FGSM (Dong et al. 2018)', 'Linf', true, [EPS, ALPHA, STEPS, DECAY]),
  entry('upgd', UPGD, 'universal PGD: choice of loss, momentum, EOT', 'Linf', true, [
    EPS, ALPHA, STEPS, RANDOM_START, p('loss', 'choice', 'objective', { choices: ['ce', 'margin', 'dlr'] }), DECAY, EOT_ITER,
  ]),
  entry('apgd', APGD, 'auto-PGD with CE or DLR loss (Croce & Hein 2020)', 'norm', true, [
    NORM, EPS, STEPS, N_RESTARTS, p('loss', 'choice', 'objective', { choices: ['ce', 'dlr'] }), EOT_ITER, p('rho', 'number', 'ρ of the step-size rule'),
  ]),
  entry('apgdt', APGDT, 'targeted auto-PGD with the DLR loss over the top classes (Croce & Hein 2020)', 'norm', false, [
    NORM, EPS, STEPS, N_RESTARTS, EOT_ITER, p('rho', 'number', 'ρ of the step-size rule'), N_TARGET_CLASSES,
  ]),
  entry('difgsm', DIFGSM, 'input-diversity (M-)DI²-FGSM (Xie et al. 2019)', 'Linf', true, [EPS, ALPHA, STEPS, DECAY, RESIZE_RATE, DIVERSITY_PROB, RANDOM_START]),
  entry('tifgsm', TIFGSM, 'translation-invariant FGSM (Dong et al. 2019)', 'Linf', true, [
    EPS, ALPHA, STEPS, DECAY, p('kernelName', 'choice', 'smoothing kernel', { choices: ['gaussian', 'linear', 'uniform'] }),
    p('lenKernel', 'integer', 'kernel size'), p('nsig', 'number', 'kernel radius in σ'), RESIZE_RATE, DIVERSITY_PROB, RANDOM_START,
  ]),
  entry('nifgsm', NIFGSM, 'Nesterov iterative FGSM (Lin et al. 2020)', 'Linf', true, [EPS, ALPHA, STEPS, DECAY]),
  entry('sinifgsm', SINIFGSM, 'scale-invariant Nesterov FGSM (Lin et al. 2020)', 'Linf', true, [EPS, ALPHA, STEPS, DECAY, p('m', 'integer', 'scale copies')]),
  entry('vmifgsm', VMIFGSM, 'variance-tuning MI-FGSM (Wang & He 2021)', 'Linf', true, [
    EPS, ALPHA, STEPS, DECAY, p('N', 'integer', 'neighbourhood samples'), p('beta', 'number', 'neighbourhood radius factor'),
  ]),
  entry('vnifgsm', VNIFGSM, 'variance-tuning NI-FGSM (Wang & He 2021)', 'Linf', true, [
    EPS, ALPHA, STEPS, DECAY, p('N', 'integer', 'neighbourhood samples'), p('beta', 'number', 'neighbourhood radius factor'),
  ]),
  entry('jitter', Jitter, 'PGD on a jittered, rescaled softmax loss (Schwinn et al. 2021)', 'Linf', true, [
    EPS, ALPHA, STEPS, p('scale', 'number', 'softmax temperature'), p('std', 'number', 'jitter standard deviation'), RANDOM_START,
  ]),
  entry('pifgsm', PIFGSM, 'patch-wise iterative FGSM (Gao et al. 2020)', 'Linf', false, PIFGSM_PARAMS, { epsParam: 'maxEpsilon' }),
  entry('pifgsmpp', PIFGSMPP, 'patch-wise++ iterative FGSM (Gao et al. 2020)', 'Linf', true,
    [...PIFGSM_PARAMS, p('projectFactor', 'number', 'projection weight factor')], { epsParam: 'maxEpsilon', aliases: ['pifgsm++'] }),
  entry('pgdrs', PGDRS, 'PGD on a randomized-smoothing classifier (Salman et al. 2019)', 'Linf', true, [EPS, ALPHA, STEPS, ...SMOOTHING]),
  entry('pgdl2', PGDL2, 'L2 projected gradient descent (Madry et al. 2018)', 'L2', true, [EPS, ALPHA, STEPS, RANDOM_START]),
  entry('pgdrsl2', PGDRSL2, 'L2 PGD on a randomized-smoothing classifier (Salman et al. 2019)', 'L2', true, [
    EPS, ALPHA, STEPS, p('epsForDivision', 'number', 'added to ‖g‖ before dividing'), ...SMOOTHING,
  ]),
  entry('cw', CW, 'Carlini–Wagner L2 with Adam (Carlini & Wagner 2017)', 'L2', true, [
    p('c', 'number', 'weight of the classification term'), p('kappa', 'number', 'confidence κ'), STEPS, p('lr', 'number', 'Adam learning rate'),
  ]),
  entry('deepfool', DeepFool, 'minimal L2 steps to the linearised boundary (Moosavi-Dezfooli et al. 2016)', 'L2', false, [
    STEPS, p('overshoot', 'number', 'overshoot η'),
  ]),
  entry('fab', FAB, 'fast adaptive boundary attack (Croce & Hein 2020)', 'norm', true, [
    NORM, EPS, STEPS, N_RESTARTS, p('alphaMax', 'number', 'α_max'), p('eta', 'number', 'overshoot η'), p('beta', 'number', 'backward step β'),
    p('multiTargeted', 'boolean', 'FAB-T: one targeted run per top class'), N_TARGET_CLASSES,
  ]),
  entry('square', Square, 'Square attack: random search, score-based (Andriushchenko et al. 2020)', 'norm', true, [
    NORM, EPS, p('nQueries', 'integer', 'query budget per restart'), N_RESTARTS, p('pInit', 'number', 'initial square fraction'),
    p('loss', 'choice', 'objective', { choices: ['margin', 'ce'] }),
    p('rescaleSchedule', 'boolean', 'rescale the p schedule to n_queries', { aliases: ['resc_schedule'] }),
    p('windows', 'choice', "one window per iteration for the batch ('batch', AutoAttack) or per image", { choices: ['batch', 'example'] }),
  ]),
  entry('autoattack', AutoAttack, 'APGD-CE, APGD-T, FAB-T, Square (Croce & Hein 2020)', 'norm', false, [
    NORM, EPS, p('version', 'choice', "'standard' or 'rand' (randomised defenses)", { choices: ['standard', 'rand'] }),
    p('steps', 'integer', 'iterations of APGD, APGD-T and FAB-T', { default: 100 }),
    p('nTargetClasses', 'integer', 'targets of APGD-T and FAB-T (torchattacks n_classes = this + 1)', { default: 9 }),
    p('nQueries', 'integer', "Square's queries", { default: 5000 }), p('eotIter', 'integer', "EOT samples of the 'rand' version", { default: 20 }),
  ]),
  entry('spsa', SPSA, 'SPSA gradient estimates with Adam, gradient-free (Uesato et al. 2018)', 'Linf', true, [
    EPS, p('delta', 'number', 'finite-difference step δ'), p('lr', 'number', 'Adam learning rate'), p('nbIter', 'integer', 'iterations'),
    p('nbSample', 'integer', 'random directions per estimate'), p('maxBatchSize', 'integer', 'directions per model call'),
  ]),
  ...(['eadl1', 'eaden'] as const).map((name) => entry(name, name === 'eadl1' ? EADL1 : EADEN,
    `elastic-net attack, ${name === 'eadl1' ? 'L1' : 'elastic-net'} decision rule (Chen et al. 2018)`, 'L1', true, [
      p('kappa', 'number', 'confidence κ'), p('lr', 'number', 'initial ISTA step size'), p('binarySearchSteps', 'integer', 'binary-search steps over c'),
      p('maxIterations', 'integer', 'iterations per c'), p('abortEarly', 'boolean', 'stop an inner loop when the loss stalls'),
      p('initialConst', 'number', 'first c'), p('beta', 'number', 'L1 weight β'),
    ], { aliases: [name === 'eadl1' ? 'ead-l1' : 'ead-en'] })),
  entry('sparsefool', SparseFool, 'sparse L0 attack through DeepFool boundary points (Modas et al. 2019)', 'L0', false, [
    STEPS, p('lam', 'number', 'λ: how far past the boundary to linearise'), p('overshoot', 'number', 'overshoot η'),
  ]),
  entry('jsma', JSMA, 'Jacobian saliency map attack (Papernot et al. 2016)', 'L0', true, [
    p('theta', 'number', 'change per chosen feature'), p('gamma', 'number', 'largest fraction of features changed'),
  ]),
  entry('onepixel', OnePixel, 'few-pixel attack by differential evolution (Su et al. 2019)', 'L0', true, [
    p('pixels', 'integer', 'pixels changed'), STEPS, p('popsize', 'integer', 'population size factor'), p('infBatch', 'integer', 'candidates per model call'),
  ]),
  entry('pixle', Pixle, 'rearranges the image\'s own pixels by random search (Pomponi et al. 2022)', 'L0', true, [
    p('xDimensions', 'side', `patch width: ${SIDE}`), p('yDimensions', 'side', `patch height: ${SIDE}`),
    p('pixelMapping', 'choice', 'where patch pixels go', { choices: ['random', 'similarity', 'similarity_random', 'distance', 'distance_random'] }),
    p('restarts', 'integer', 'restarts'), p('maxIterations', 'integer', 'iterations per restart'),
    p('updateEachIteration', 'boolean', 'move to every improving candidate at once'),
  ]),
  entry('multiattack', MultiAttack as unknown as Ctor<unknown>, 'runs several attacks, keeping the first success per example (torchattacks MultiAttack)', 'none', true, [
    p('attacks', 'attacks', 'the attacks, e.g. multiattack(fgsm, pgd(steps=20))', { default: [] }),
  ], {
    create: (_m, o, build) => {
      const { attacks, ...rest } = o as { attacks?: AttackSpec[] } & Record<string, unknown>;
      if (!attacks || attacks.length === 0) throw new AttackSpecError('multiattack needs attacks, e.g. multiattack(fgsm, pgd(steps=20))');
      // In a targeted mode the components are built targeted too (they receive MultiAttack's targets).
      return new MultiAttack(attacks.map((s) => build.nested(s)), rest);
    },
  }),
  entry('lgv', LGV as unknown as Ctor<unknown>, 'transfer attack from surrogates collected along SGD (Gubri et al. 2022); trains', 'Linf', true, [
    p('lr', 'number', 'SGD learning rate of the collection'), p('epochs', 'integer', 'epochs of collection'),
    p('nbModelsEpoch', 'integer', 'models collected per epoch'), p('wd', 'number', 'SGD weight decay'),
    p('nGrad', 'integer', 'surrogates averaged per forward pass (−1: all)'),
    p('eps', 'number', "budget ε of the attack on the surrogates (BIM)", { default: 8 / 255 }),
    p('alpha', 'number', 'step size α of BIM', { default: 2 / 255 }), p('steps', 'integer', 'iterations of BIM', { default: 10 }),
  ], {
    create: (m, o, build) => {
      const { eps, alpha, steps, ...rest } = o;
      const attackOptions = Object.fromEntries(Object.entries({ eps, alpha, steps }).filter(([, v]) => v !== undefined));
      return new LGV(m as TrainableClassifier, {
        ...rest, attackOptions, trainLoader: build.services.trainLoader?.(), copyModel: build.services.copyModel,
      });
    },
  }),
  entry('tutorial', TutorialSGD, "the tutorial's attack: SGD on δ, δ clipped to ±ε (robusta attack's default)", 'Linf', true, [
    EPS, p('lr', 'number', 'SGD learning rate'), STEPS,
  ]),
];

/** Lower case without '_', '-' and spaces: how names and parameters are matched. */
export const normalizeName = (s: string): string => s.toLowerCase().replace(/[_\-\s]/g, '');

/** torchattacks' spelling of a camelCase option: randomStart → random_start, nQueries → n_queries, N → N. */
export function snakeCase(name: string): string {
  if (/^[A-Z]+$/.test(name)) return name;
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The entry for a name (any case; aliases), or an AttackSpecError listing the names accepted. */
export function findAttack(name: string): AttackEntry {
  const key = normalizeName(name);
  const e = ATTACKS.find((a) => normalizeName(a.name) === key || normalizeName(a.className) === key || a.aliases?.some((x) => normalizeName(x) === key));
  if (!e) throw new AttackSpecError(`unknown attack '${name}'; accepted: ${ATTACKS.map((a) => a.name).join(', ')}`);
  return e;
}

/** A classifier that is never called: attacks are built with it to read their defaults. */
const NO_MODEL: Classifier & { parameters(): [] } = {
  forward: () => { throw new Error('not a model'); },
  parameters: () => [],
  training: false,
  train: () => undefined,
  eval: () => undefined,
};

/** Each parameter's default (the value the attack uses when the option is not given). */
export function attackDefaults(e: AttackEntry): Record<string, unknown> {
  let instance: Record<string, unknown> = {};
  if (e.name !== 'multiattack') {
    instance = e.create(NO_MODEL, {}, { services: {}, nested: () => { throw new Error('no nested attacks'); } }) as unknown as Record<string, unknown>;
  }
  const nested = Object.values(instance).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
  const out: Record<string, unknown> = {};
  for (const q of e.params) {
    if (q.default !== undefined) out[q.name] = q.default;
    else if (instance[q.name] !== undefined) out[q.name] = instance[q.name];
    else out[q.name] = nested.find((o) => o[q.name] !== undefined)?.[q.name];
  }
  return out;
}

/** Every attack takes a seed for its random stream (AttackOptions.seed). */
const SEED = p('seed', 'integer', 'seed of the attack\'s random stream');

function findParam(e: AttackEntry, key: string): ParamSpec {
  const k = normalizeName(key);
  if (k === 'seed' && !e.params.some((x) => x.name === 'seed')) return SEED;
  const q = e.params.find((x) => normalizeName(x.name) === k || x.aliases?.some((a) => normalizeName(a) === k));
  if (q) return q;
  const accepted = `accepted: ${[...e.params.map((x) => snakeCase(x.name)), 'seed'].join(', ')}`;
  throw new AttackSpecError(`${e.name}: unknown parameter '${key}'; ${accepted}`);
}

/** A number as papers write it: 0.3, 8/255, 1e-3, -1. */
export function parseNumberText(text: string): number {
  const m = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*(?:\/\s*((?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?))?\s*$/i.exec(text);
  return m ? Number(m[1]) / (m[2] !== undefined ? Number(m[2]) : 1) : NaN;
}

function readValue(e: AttackEntry, q: ParamSpec, v: SpecValue): unknown {
  const where = `${e.name}: ${snakeCase(q.name)}`;
  const text = (): string => {
    if (v.kind !== 'text') throw new AttackSpecError(`${where} takes a single value, got ${v.kind === 'tuple' ? 'a tuple' : 'an attack'}`);
    return v.text;
  };
  switch (q.kind) {
    case 'number':
    case 'integer': {
      const x = parseNumberText(text());
      if (!Number.isFinite(x)) throw new AttackSpecError(`${where} must be a number like 0.3 or 8/255, got '${text()}'`);
      if (q.kind === 'integer' && !Number.isInteger(x)) throw new AttackSpecError(`${where} must be an integer, got '${text()}'`);
      return x;
    }
    case 'boolean': {
      const t = text().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      throw new AttackSpecError(`${where} must be true or false, got '${text()}'`);
    }
    case 'choice': {
      const t = text();
      const c = q.choices!.find((x) => x.toLowerCase() === t.toLowerCase());
      if (c === undefined) throw new AttackSpecError(`${where} must be one of ${q.choices!.join(', ')}, got '${t}'`);
      return c;
    }
    case 'norm': {
      const t = normalizeName(text());
      if (['linf', 'inf', 'l∞'].includes(t)) return 'Linf';
      if (['l2', '2'].includes(t)) return 'L2';
      throw new AttackSpecError(`${where} must be Linf or L2, got '${text()}'`);
    }
    case 'side': {
      const one = (x: SpecValue): number => {
        const n = x.kind === 'text' ? parseNumberText(x.text) : NaN;
        if (!Number.isFinite(n)) throw new AttackSpecError(`${where} must be ${SIDE}`);
        return n;
      };
      if (v.kind === 'tuple') {
        if (v.items.length !== 2) throw new AttackSpecError(`${where} must be ${SIDE}`);
        return [one(v.items[0]!), one(v.items[1]!)];
      }
      return one(v);
    }
    case 'attacks': {
      const calls = v.kind === 'tuple' ? v.items : [v];
      return calls.map((c) => {
        if (c.kind === 'call') return c.call;
        if (c.kind === 'text') return parseAttackSpecs(c.text)[0]!;
        throw new AttackSpecError(`${where} must list attacks`);
      });
    }
  }
}

/** The typed options a specification gives (only what it sets), and its entry. */
export function readAttackSpec(spec: AttackSpec): { entry: AttackEntry; options: Record<string, unknown> } {
  const e = findAttack(spec.name);
  const options: Record<string, unknown> = {};
  for (const a of spec.args) {
    if (a.key === null) {
      const q = e.params.find((x) => x.kind === 'attacks');
      if (!q) throw new AttackSpecError(`${e.name}: arguments are written key=value (${e.params.map((x) => snakeCase(x.name)).join(', ') || 'it takes none'}), got '${formatAttackSpec(a.value.kind === 'call' ? a.value.call : spec)}'`);
      options[q.name] = [...((options[q.name] as AttackSpec[] | undefined) ?? []), ...(readValue(e, q, a.value) as AttackSpec[])];
      continue;
    }
    // torchattacks' n_classes is the number of classes; robusta's nTargetClasses counts the targets.
    const classes = normalizeName(a.key) === 'nclasses' && e.params.find((x) => x.name === 'nTargetClasses');
    const q = classes || findParam(e, a.key);
    const value = readValue(e, q, a.value);
    if (q.name in options) throw new AttackSpecError(`${e.name}: ${snakeCase(q.name)} is given twice`);
    options[q.name] = classes ? (value as number) - 1 : value;
  }
  return { entry: e, options };
}

/** Settings an evaluation imposes on every attack it builds, unless the specification sets them. */
export interface AttackContext {
  /** The threat model: attacks with a `norm` take it; attacks of another fixed threat model keep their own budget. */
  norm?: 'Linf' | 'L2';
  /** The budget, for attacks of the context's threat model. Their default step size α scales with it. */
  eps?: number;
  mode?: AttackMode;
  seed?: number;
  /** Values for parameters the specification leaves out, where the attack has them (e.g. a command's --steps). */
  defaults?: Record<string, unknown>;
  services?: AttackServices;
}

/**
 * Builds the attack a specification describes (text like "pgd(steps=40)" or a parsed spec). The context's
 * eps goes to attacks measured in its norm (and sets `norm` where the attack has one); an attack whose
 * α is not given then takes α = default α · ε / default ε, so "pgd" at ε = 0.3 steps 0.075, as 2/255
 * is to 8/255.
 */
export function createAttack(model: Classifier, spec: string | AttackSpec, context: AttackContext = {}): Attack {
  const parsed = typeof spec === 'string' ? parseAttackSpecs(spec) : [spec];
  if (parsed.length !== 1) throw new AttackSpecError(`one attack expected, got ${parsed.length}`);
  const { entry: e, options } = readAttackSpec(parsed[0]!);
  const has = (name: string): boolean => e.params.some((q) => q.name === name);
  for (const [k, v] of Object.entries(context.defaults ?? {})) if (v !== undefined && has(k) && options[k] === undefined) options[k] = v;
  const epsName = e.epsParam ?? 'eps';
  if (context.norm && has('norm') && options.norm === undefined) options.norm = context.norm;
  const threat = e.threat === 'norm' ? (options.norm as string | undefined) ?? 'Linf' : e.threat;
  if (context.eps !== undefined && has(epsName) && options[epsName] === undefined && threat === (context.norm ?? 'Linf')) {
    const defaults = attackDefaults({ ...e, create: (m, o, b) => e.create(m, { ...o, norm: options.norm }, b) });
    options[epsName] = context.eps;
    const d = defaults[epsName] as number | undefined;
    if (has('alpha') && options.alpha === undefined && typeof defaults.alpha === 'number' && d) options.alpha = (defaults.alpha * context.eps) / d;
  }
  if (context.mode && context.mode !== 'untargeted') {
    if (!e.targeted) throw new AttackSpecError(`${e.name} has no targeted mode; attacks with one: ${ATTACKS.filter((a) => a.targeted).map((a) => a.name).join(', ')}`);
    options.mode = context.mode;
  }
  if (context.seed !== undefined && options.seed === undefined) options.seed = context.seed;
  const build: BuildContext = {
    services: context.services ?? {},
    // Nested attacks (MultiAttack's) share the context; in a targeted mode they take 'targeted' and MultiAttack's targets.
    nested: (s) => createAttack(model, s, { ...context, mode: context.mode && context.mode !== 'untargeted' ? 'targeted' : undefined }),
  };
  return e.create(model, options, build);
}

/** "8/255" for the small multiples of 1/255 (up to 32/255) budgets are written as, else the number as it prints. */
export function formatDefault(v: unknown): string {
  if (typeof v === 'number') {
    const k = v * 255;
    if (v > 0 && k <= 32 && Math.abs(k - Math.round(k)) < 1e-9) return `${Math.round(k)}/255`;
    return String(v);
  }
  if (Array.isArray(v)) return v.length === 0 ? '—' : `(${v.map(formatDefault).join(', ')})`;
  if (v === undefined) return '—';
  return String(v);
}

/** Every attack with its parameters (torchattacks' spelling) and defaults, as text for a terminal. */
export function formatAttackList(entries: readonly AttackEntry[] = ATTACKS): string {
  return entries.map((e) => {
    const d = attackDefaults(e);
    const head = `${e.name.padEnd(12)} ${e.className} — ${e.summary}${e.targeted ? ' [targeted modes]' : ''}${e.aliases ? ` (also: ${e.aliases.join(', ')})` : ''}`;
    const threat = e.threat === 'none' ? '' : `  threat model: ${e.threat === 'norm' ? 'Linf or L2 (norm)' : e.threat}\n`;
    const rows = e.params.map((q) => `    ${`${snakeCase(q.name)}=${formatDefault(d[q.name])}`.padEnd(30)} ${q.doc}${q.choices ? ` (${q.choices.join(', ')})` : ''}`);
    return [head, ...(threat ? [threat.trimEnd()] : []), ...rows].join('\n');
  }).join('\n');
}
