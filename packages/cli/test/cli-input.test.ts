// robusta attacks, and the bad input the issue lists as a new user types it, named in the command's
// words: unknown attacks and parameters (with what is accepted), negative budgets, NaN weights, missing
// files; robusta attack --method with any attack.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { attacks, data, torch } from 'robusta';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ROBUSTA_NUM_THREADS: '1' } });

const dir = mkdtempSync(join(tmpdir(), 'robusta-cli-input-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('robusta attacks lists every attack with its parameters and defaults; mistakes in --attacks list what is accepted', () => {
  const list = cli(['attacks']);
  assert.equal(list.status, 0, list.stderr);
  for (const e of attacks.ATTACKS) assert.match(list.stdout, new RegExp(`^${e.name} +${e.className} — `, 'm'));
  assert.match(list.stdout, /^ {4}n_queries=5000 +query budget/m);
  const json = JSON.parse(cli(['attacks', 'square', 'pixle', '--json']).stdout) as { name: string; params: { name: string; default: unknown }[] }[];
  assert.deepEqual(json.map((e) => e.name), ['square', 'pixle']);
  assert.deepEqual(json[1]!.params.find((p) => p.name === 'x_dimensions')!.default, [2, 10]);
  const cases: [string[], RegExp][] = [
    [['attacks', 'nosuch'], /unknown attack 'nosuch'; accepted: vanila, gn, fgsm/],
    [['eval', '--random-weights', '--attacks', 'pgd(stpes=3)'], /--attacks: pgd: unknown parameter 'stpes'; accepted: eps, alpha, steps, random_start, seed/],
    [['eval', '--random-weights', '--attacks', 'fgsm,nosuch'], /--attacks: unknown attack 'nosuch'; accepted: .*autoattack/],
    [['eval', '--random-weights', '--attacks', 'pgd(steps=2'], /--attacks: cannot read the attack list at position 12/],
    [['eval', '--random-weights', '--attacks', 'cw(c=high)'], /--attacks: cw: c must be a number like 0\.3 or 8\/255, got 'high'/],
    [['eval', '--random-weights', '--eps', '-1'], /--eps must be >= 0, got -1/],
    [['eval', '--random-weights', '--attacks', 'autoattack', '--targeted'], /autoattack has no targeted mode/],
    [['eval', '--weights', '/nonexistent/w.pt'], /--weights: no such file '\/nonexistent\/w\.pt'/],
    [['eval', '--random-weights', '--save-adv', '/nonexistent/out.safetensors'], /--save-adv \/nonexistent\/out\.safetensors: no such directory '\/nonexistent'/],
    [['attack', '--random-weights', '--model', 'resnet18', '--image', 'x.png', '--method', 'pgdd'], /--method: unknown attack 'pgdd'; accepted:/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('bad input to robusta attack: missing --image, --out that is a file, a negative --eps; --method with any attack, --targeted', { timeout: 120_000 }, () => {
  const img = join(dir, 'img.png');
  torch.tidy(() => data.saveImage(img, torch.rand([3, 48, 48])));
  const missing = cli(['attack', '--model', 'resnet18', '--random-weights', '--image', join(dir, 'none.png')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^robusta attack: --image .*none\.png: no such file$/m);
  const outFile = join(dir, 'a-file');
  writeFileSync(outFile, 'x');
  const out = cli(['attack', '--model', 'resnet18', '--random-weights', '--image', img, '--out', outFile]);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /^robusta attack: --out .*a-file: exists and is not a directory$/m);
  const eps = cli(['attack', '--model', 'resnet18', '--random-weights', '--image', img, '--eps', '-1']);
  assert.equal(eps.status, 2);
  assert.match(eps.stderr, /--eps must be >= 0, got -1/);
  // attack --method takes any attack with parameters, targeted towards a random class with --targeted.
  const ok = cli(['attack', '--model', 'resnet18', '--random-weights', '--image', img, '--size', '48', '--method', 'mifgsm(steps=2, decay=0.5)',
    '--eps', '4/255', '--targeted', '--seed', '1', '--out', join(dir, 'out'), '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const rep = JSON.parse(ok.stdout) as { method: string; steps: number; target: { index: number } | null; before: { index: number }[]; linf: number };
  assert.equal(rep.method, 'MIFGSM');
  assert.equal(rep.steps, 2);
  assert.ok(rep.target !== null && rep.target.index !== rep.before[0]!.index, 'a random target must differ from the prediction');
  assert.ok(rep.linf <= 4 / 255 + 1e-6);
});
