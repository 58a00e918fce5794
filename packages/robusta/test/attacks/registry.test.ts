// The attack registry and the text specifications the command line uses: every attack of the module
// is registered, with parameters the attacks really take and defaults they really use; torchattacks'
// spellings are read; mistakes get messages that list what is accepted.
import assert from 'node:assert/strict';
import test from 'node:test';
import { tidy } from '@robusta/torch';
import * as attacks from '../../src/attacks/index.js';
import { Attack } from '../../src/attacks/attack.js';
import {
  ATTACKS, attackDefaults, createAttack, findAttack, formatAttackList, formatDefault, parseNumberText, readAttackSpec, snakeCase,
} from '../../src/attacks/registry.js';
import { AttackSpecError, formatAttackSpec, parseAttackSpecs } from '../../src/attacks/spec.js';
import { MLP } from './helpers.js';

const model = MLP.init(0);
const services = { trainLoader: () => ({ length: 4, batch: () => { throw new Error('not used'); } }), copyModel: () => MLP.init(1) };

test('every attack class the module exports is registered, under its class name', () => {
  const classes = Object.entries(attacks)
    .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Attack)
    .map(([k]) => k)
    .filter((k) => k !== 'ElasticNetAttack'); // the shared base of EADL1 and EADEN
  const registered = new Set(ATTACKS.map((e) => e.className));
  assert.deepEqual(classes.filter((c) => !registered.has(c)), [], 'exported attacks without a registry entry');
  assert.equal(new Set(ATTACKS.map((e) => e.name)).size, ATTACKS.length, 'two entries share a name');
  // Each entry builds an attack of its class.
  for (const e of ATTACKS.filter((x) => x.name !== 'multiattack')) {
    const a = createAttack(model, e.name, { services });
    assert.equal(a.constructor.name, e.className === 'TutorialSGD' ? 'TutorialSGD' : e.className, e.name);
  }
});

test('every listed parameter is an option the attack uses: setting it changes what the attack stores, and every default is known', () => {
  for (const e of ATTACKS) {
    const d = attackDefaults(e);
    for (const q of e.params) {
      if (e.name === 'multiattack') continue;
      assert.notEqual(d[q.name], undefined, `${e.name}: no default for ${q.name}`);
      if (q.kind === 'attacks') continue;
      // A different legal value must reach the attack (a misspelt option name would be ignored).
      const other = q.kind === 'boolean' ? !d[q.name]
        : q.kind === 'choice' ? q.choices!.find((c) => c !== d[q.name])
          : q.kind === 'norm' ? (d[q.name] === 'Linf' ? 'L2' : 'Linf')
            : q.kind === 'side' ? [3, 4]
              : q.kind === 'integer' ? (d[q.name] as number) + 1 : (d[q.name] as number) * 0.5 + 0.013;
      const build = { services, nested: () => { throw new Error('no nesting'); } };
      // AutoAttack's eot_iter acts in its 'rand' version only.
      const base = e.name === 'autoattack' && q.name === 'eotIter' ? { version: 'rand' } : {};
      const before = fingerprint(e.create(model, base, build));
      const after = fingerprint(e.create(model, { ...base, [q.name]: other }, build));
      assert.notEqual(after, before, `${e.name}: setting ${q.name} = ${JSON.stringify(other)} had no effect`);
    }
  }
});

/** What an attack stores (its fields and those of the attacks or settings it holds), as text. */
function fingerprint(a: unknown, depth = 0): string {
  if (a === null || typeof a !== 'object') return typeof a === 'function' ? 'fn' : JSON.stringify(a) ?? 'undefined';
  if (depth > 3) return '…';
  if (Array.isArray(a)) return `[${a.map((x) => fingerprint(x, depth + 1)).join(',')}]`;
  return `{${Object.entries(a).filter(([k]) => k !== 'model').map(([k, v]) => `${k}:${fingerprint(v, depth + 1)}`).join(',')}}`;
}

test('targeted modes: accepted exactly by the attacks the registry says have them', () => {
  for (const e of ATTACKS.filter((x) => x.name !== 'multiattack')) {
    const make = () => createAttack(model, e.name, { mode: 'targeted', services });
    if (e.targeted) assert.doesNotThrow(make, e.name);
    else assert.throws(make, new RegExp(`${e.name} has no targeted mode; attacks with one: .*pgd`), e.name);
    if (!e.targeted) assert.throws(() => e.create(model, { mode: 'targeted' }, { services, nested: () => { throw new Error(); } }), /targeted modes are not supported/, e.name);
  }
});

test('the issue\'s example: pgd(steps=40,alpha=0.01),cw(c=1,steps=100),square(n_queries=5000) in torchattacks\' spelling', () => {
  const specs = parseAttackSpecs('pgd(steps=40,alpha=0.01),cw(c=1,steps=100),square(n_queries=5000)');
  assert.deepEqual(specs.map((s) => s.name), ['pgd', 'cw', 'square']);
  const [pgd, cw, square] = specs.map((s) => createAttack(model, s)) as [attacks.PGD, attacks.CW, attacks.Square];
  assert.equal(pgd.steps, 40);
  assert.equal(pgd.alpha, 0.01);
  assert.equal(pgd.eps, 8 / 255);
  assert.equal(pgd.randomStart, true);
  assert.equal(cw.c, 1);
  assert.equal(cw.steps, 100);
  assert.equal(square.nQueries, 5000);
  assert.equal(formatAttackSpec(specs[0]!), 'pgd(steps=40, alpha=0.01)');
  assert.equal(specs[2]!.source, 'square(n_queries=5000)');
});

test('values: fractions, booleans, choices, norms, tuples; camelCase and snake_case; n_classes counts classes; nested attacks', () => {
  const o = (text: string) => readAttackSpec(parseAttackSpecs(text)[0]!).options;
  assert.deepEqual(o('PGD(eps=8/255, random_start=False, steps=3)'), { eps: 8 / 255, randomStart: false, steps: 3 });
  assert.deepEqual(o('pgd(randomStart=true)'), { randomStart: true });
  assert.deepEqual(o("apgd(norm=L2, loss='dlr', eot_iter=2)"), { norm: 'L2', loss: 'dlr', eotIter: 2 });
  assert.deepEqual(o('apgdt(n_classes=10)'), { nTargetClasses: 9 });
  assert.deepEqual(o('pixle(x_dimensions=(0.1, 0.2), y_dimensions=3, pixel_mapping=similarity_random)'),
    { xDimensions: [0.1, 0.2], yDimensions: 3, pixelMapping: 'similarity_random' });
  assert.deepEqual(o('vmifgsm(N=7)'), { N: 7 });
  assert.deepEqual(o('square(resc_schedule=false, seed=3)'), { rescaleSchedule: false, seed: 3 });
  assert.equal(findAttack('PIFGSM++').className, 'PIFGSMPP');
  assert.equal(findAttack('EAD-L1').className, 'EADL1');
  assert.equal(findAttack('TutorialSGD').name, 'tutorial');
  assert.equal(parseNumberText(' 2/255 '), 2 / 255);
  assert.equal(parseNumberText('-1'), -1);
  assert.equal(parseNumberText('1e-3'), 0.001);
  assert.ok(Number.isNaN(parseNumberText('abc')));
  tidy(() => {
    const m = createAttack(model, 'multiattack(fgsm(eps=0.1), pgd(steps=2), cw)') as attacks.MultiAttack;
    assert.deepEqual(m.attacks.map((a) => a.name), ['FGSM', 'PGD', 'CW']);
    assert.equal((m.attacks[0] as attacks.FGSM).eps, 0.1);
    const t = createAttack(model, 'multiattack(attacks=[fgsm, bim])', { mode: 'targeted' }) as attacks.MultiAttack;
    assert.deepEqual(t.attacks.map((a) => a.mode), ['targeted', 'targeted']);
  });
});

test('mistakes are named with what is accepted', () => {
  const err = (text: string, re: RegExp) => assert.throws(() => createAttack(model, text), (e: Error) => e instanceof AttackSpecError && re.test(e.message));
  err('pgdd(steps=2)', /unknown attack 'pgdd'; accepted: vanila, gn, fgsm, .*pgd, .*lgv, tutorial/);
  err('pgd(stpes=2)', /pgd: unknown parameter 'stpes'; accepted: eps, alpha, steps, random_start, seed/);
  err('vanila(eps=1)', /vanila: unknown parameter 'eps'; accepted: seed/);
  err('pgd(steps=2.5)', /pgd: steps must be an integer, got '2.5'/);
  err('pgd(eps=big)', /pgd: eps must be a number like 0.3 or 8\/255, got 'big'/);
  err('pgd(random_start=maybe)', /pgd: random_start must be true or false/);
  err('apgd(loss=kl)', /apgd: loss must be one of ce, dlr, got 'kl'/);
  err('pgd(steps=2, steps=3)', /pgd: steps is given twice/);
  err('pgd(steps=2', /cannot read the attack list at position 12: expected ',' or '\)' in "pgd\(steps=2⟨here⟩"/);
  err('pgd(2)', /cannot read the attack list .*expected key=value/);
  err('multiattack', /multiattack needs attacks/);
  assert.throws(() => parseAttackSpecs('  '), /no attack given/);
  assert.throws(() => parseAttackSpecs('pgd,,cw'), /expected an attack name/);
  // Range checks stay the attacks' own, naming the parameter.
  assert.throws(() => createAttack(model, 'pgd(eps=-1)'), /PGD: eps must be >= 0, got -1/);
  assert.throws(() => createAttack(model, 'deepfool', { mode: 'targeted' }), /deepfool has no targeted mode/);
});

test('an evaluation\'s ε and norm reach the attacks of that threat model, with α scaled to ε unless given', () => {
  const pgd = createAttack(model, 'pgd', { norm: 'Linf', eps: 0.3 }) as attacks.PGD;
  assert.equal(pgd.eps, 0.3);
  assert.ok(Math.abs(pgd.alpha - 0.075) < 1e-12, `α = ${pgd.alpha}`);
  const given = createAttack(model, 'pgd(alpha=0.01)', { norm: 'Linf', eps: 0.3 }) as attacks.PGD;
  assert.equal(given.alpha, 0.01);
  const own = createAttack(model, 'pgd(eps=0.1)', { norm: 'Linf', eps: 0.3 }) as attacks.PGD;
  assert.equal(own.eps, 0.1);
  assert.equal(own.alpha, 2 / 255, 'an ε of its own keeps the default α');
  // An L2 attack under an L∞ evaluation keeps its own (L2) budget; under L2 it takes ε.
  assert.equal((createAttack(model, 'pgdl2', { norm: 'Linf', eps: 0.3 }) as attacks.PGDL2).eps, 1);
  assert.equal((createAttack(model, 'pgdl2', { norm: 'L2', eps: 2 }) as attacks.PGDL2).eps, 2);
  const ap = createAttack(model, 'apgd', { norm: 'L2', eps: 1.5 }) as attacks.APGD;
  assert.equal(ap.norm, 'L2');
  assert.equal(ap.eps, 1.5);
  const sq = createAttack(model, 'square(norm=L2)', { norm: 'Linf', eps: 0.3 }) as attacks.Square;
  assert.equal(sq.eps, 0.5, 'Square L2 under an L∞ evaluation keeps its L2 default');
  assert.equal((createAttack(model, 'pifgsm', { eps: 0.1 }) as attacks.PIFGSM).maxEpsilon, 0.1);
  assert.equal((createAttack(model, 'fgsm', { seed: 4 })).seed, 4);
});

test('the listing shows every attack with torchattacks\' parameter names and defaults', () => {
  const text = formatAttackList();
  for (const e of ATTACKS) assert.match(text, new RegExp(`^${e.name} +${e.className} — `, 'm'));
  assert.match(text, /^ {4}random_start=true +start at a random point/m);
  assert.match(text, /^ {4}n_queries=5000 /m);
  assert.match(text, /^ {4}eps=8\/255 /m);
  assert.equal(formatDefault(0.8), '0.8');
  assert.equal(formatDefault(16 / 255), '16/255');
  assert.equal(snakeCase('nbModelsEpoch'), 'nb_models_epoch');
  assert.equal(snakeCase('N'), 'N');
});
