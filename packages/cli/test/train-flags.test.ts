// robusta train's flags take effect: --awp (the checkpoint's defense, other weights), --schedule onecycle
// (the optimizer state PyTorch reads from the checkpoint is where PyTorch's OneCycleLR is after as many
// steps as batches), --augment (other weights), and re-running a finished command resumes it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pyTorchSkip, pythonPath } from '@robusta/torch/testing';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));

function robusta(...args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `robusta ${args.join(' ')}:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

test('robusta train: --awp, --schedule onecycle and --augment take effect (checkpoint read by PyTorch), and re-running a finished command resumes it', { skip: pyTorchSkip(), timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'robusta-train-flags-'));
  try {
    const base = ['train', '--model', 'mnist-mlp', '--dataset', 'mnist', '--defense', 'at', '--eps', '0.1', '--alpha', '0.05', '--steps', '2',
      '--epochs', '2', '--n-train', '200', '--batch-size', '50', '--lr', '0.05', '--momentum', '0.9', '--eval-n', '50', '--json'];
    const full = [...base, '--awp', '5e-3', '--schedule', 'onecycle', '--augment'];
    const a = robusta(...full, '--out', join(dir, 'a'));
    assert.deepEqual([a.resumedFrom, a.epochsRun], [0, 2]);
    const again = robusta(...full, '--out', join(dir, 'a'));
    assert.deepEqual([again.resumedFrom, again.epochsRun], [2, 0], 're-running a finished command trains nothing');
    robusta(...base, '--schedule', 'onecycle', '--augment', '--out', join(dir, 'no-awp'));
    robusta(...base, '--awp', '5e-3', '--schedule', 'onecycle', '--out', join(dir, 'no-augment'));
    const py = JSON.parse(execFileSync(pythonPath(), ['-c', `
import json, sys, torch
d = sys.argv[1]
ck = {k: torch.load(f'{d}/{k}/last.pt') for k in ('a', 'no-awp', 'no-augment')}
g = ck['a']['optimizer_state_dict']['param_groups'][0]
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.05, momentum=0.9)
s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=8)
for _ in range(8): opt.step(); s.step()
same = lambda u, v: all(torch.equal(ck[u]['model_state_dict'][k], ck[v]['model_state_dict'][k]) for k in ck[u]['model_state_dict'])
print(json.dumps({'defense': ck['a']['defense'], 'epoch': ck['a']['epoch'], 'lr': g['lr'], 'momentum': g['momentum'],
                  'want_lr': opt.param_groups[0]['lr'], 'want_momentum': opt.param_groups[0]['momentum'],
                  'same_without_awp': same('a', 'no-awp'), 'same_without_augment': same('a', 'no-augment')}))
`, dir], { encoding: 'utf8' })) as Record<string, unknown>;
    assert.equal(py.defense, 'AWP-AT');
    assert.equal(py.epoch, 2);
    // OneCycle stepped once per batch: 2 epochs × 4 batches, ending where PyTorch's does after 8 steps.
    assert.ok(Math.abs((py.lr as number) - (py.want_lr as number)) < 1e-12, `lr ${py.lr} vs PyTorch ${py.want_lr}`);
    assert.ok(Math.abs((py.momentum as number) - (py.want_momentum as number)) < 1e-12, `momentum ${py.momentum} vs PyTorch ${py.want_momentum}`);
    assert.equal(py.same_without_awp, false, '--awp changed nothing');
    assert.equal(py.same_without_augment, false, '--augment changed nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
