// Fuzzing the readers: valid checkpoints (zip written by robusta and by PyTorch, legacy from PyTorch,
// safetensors), truncated and with bytes overwritten, seeded. Every load must either succeed or throw
// a CheckpointError that is not an internal error — never another exception, a hang or a crash — and
// quickly. Checksums are switched off for half the cases so corruption reaches the pickle parser.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, randn, tensor, tidy } from '@robusta/torch';
import { CheckpointError, encodeSafetensors, encodeTorchFile, loadSafetensors, loadStateDict, loadTorchFile } from '../../src/io/index.js';
import { python, rng, skipWithoutTorch, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('fuzz');
after(cleanup);
const CASES_PER_INPUT = 120;
const MAX_MS_PER_CASE = 2000; // typical cases take a few ms; generous for a loaded CI machine

type Inputs = Map<string, { bytes: Uint8Array; kind: 'torch' | 'safetensors' }>;

/** Checkpoints robusta writes (no Python needed). */
function robustaInputs(): Inputs {
  const inputs: Inputs = new Map();
  tidy(() => {
    manualSeed(5);
    const w = randn([4, 3]);
    const sd = new Map([['w', w], ['view', w.t()], ['h', randn([5]).to('float16')], ['n', tensor(new BigInt64Array([1n, -2n]))], ['b', randn([3]).gt(0)]]);
    inputs.set('robusta zip', { bytes: encodeTorchFile({ epoch: 3, name: 'x', state_dict: sd, list: [1.5, null, true] }), kind: 'torch' });
    inputs.set('safetensors', { bytes: encodeSafetensors(sd, { format: 'pt' }), kind: 'safetensors' });
  });
  return inputs;
}

/** Checkpoints PyTorch writes (zip and legacy). */
function pytorchInputs(): Inputs {
  const inputs: Inputs = new Map();
  python(dir, `
torch.manual_seed(0)
base = torch.randn(3, 4)
obj = {'epoch': 2, 'state_dict': collections.OrderedDict(w=base, v=base[1:], t=base.t(), i=torch.arange(5), b=torch.tensor([True, False])), 'acc': 0.5}
torch.save(obj, P('py.pt'))
torch.save(obj, P('legacy.pt'), _use_new_zipfile_serialization=False)
`);
  inputs.set('pytorch zip', { bytes: readFileSync(join(dir, 'py.pt')), kind: 'torch' });
  inputs.set('pytorch legacy', { bytes: readFileSync(join(dir, 'legacy.pt')), kind: 'torch' });
  return inputs;
}

function mutate(src: Uint8Array, r: () => number, caseNo: number): { bytes: Uint8Array; how: string } {
  const pick = (n: number): number => Math.floor(r() * n);
  const mode = caseNo % 4;
  if (mode === 0) {
    const len = pick(src.length);
    return { bytes: src.slice(0, len), how: `truncate to ${len}` };
  }
  const out = new Uint8Array(src);
  const flips = 1 + pick(4);
  const where: number[] = [];
  for (let i = 0; i < flips; i++) {
    // Half the flips land in the first 512 bytes, where headers and pickles live.
    const at = mode === 1 ? pick(Math.min(512, out.length)) : mode === 2 ? pick(out.length) : out.length - 1 - pick(Math.min(200, out.length));
    out[at] = mode === 3 && r() < 0.5 ? 0xff : pick(256);
    where.push(at);
  }
  return { bytes: out, how: `overwrite bytes ${where.join(', ')}` };
}

/** Every mutation of every input loads or throws a CheckpointError (not 'internal'), quickly. */
function fuzz(inputs: Inputs, seed: number): void {
  const r = rng(seed);
  let succeeded = 0;
  let failed = 0;
  const codes = new Map<string, number>();
  for (const [name, { bytes, kind }] of inputs) {
    for (let c = 0; c < CASES_PER_INPUT; c++) {
      const { bytes: input, how } = mutate(bytes, r, c);
      const verifyChecksums = c % 2 === 0;
      const t0 = performance.now();
      try {
        tidy(() => {
          if (kind === 'safetensors') {
            if (c % 3 === 0) loadStateDict(input);
            else loadSafetensors(input);
          } else if (c % 3 === 0) loadStateDict(input, { verifyChecksums, unknownGlobals: 'placeholder' });
          else loadTorchFile(input, { verifyChecksums });
        });
        succeeded++;
      } catch (err) {
        if (!(err instanceof CheckpointError) || err.code === 'internal') {
          assert.fail(`${name}, case ${c} (${how}, checksums ${verifyChecksums}): ${err instanceof Error ? err.stack : String(err)}`);
        }
        failed++;
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
      const ms = performance.now() - t0;
      assert.ok(ms < MAX_MS_PER_CASE, `${name}, case ${c} (${how}) took ${ms.toFixed(0)} ms`);
    }
  }
  if (process.env.FUZZ_STATS) console.log({ succeeded, failed, codes });
  assert.equal(succeeded + failed, inputs.size * CASES_PER_INPUT);
  assert.ok(failed > inputs.size * CASES_PER_INPUT * 0.3, `most mutations should be caught (${failed} failed, ${succeeded} loaded)`);
  // The cases must reach several kinds of check, not just one early gate.
  assert.ok(codes.size >= 3, `error codes seen: ${[...codes].map(([k, v]) => `${k}=${v}`).join(', ')}`);
}

test('truncated and corrupted checkpoints written by robusta load or throw CheckpointError, quickly', () => {
  fuzz(robustaInputs(), 20261125);
});

test('truncated and corrupted checkpoints written by PyTorch (zip, legacy) load or throw CheckpointError, quickly',
  { skip: skipWithoutTorch }, () => {
    fuzz(pytorchInputs(), 20261126);
  });

test('forged sizes in zip and legacy structures never allocate beyond the file', () => {
  tidy(() => {
    const zip = encodeTorchFile(new Map([['w', tensor([1, 2, 3])]]));
    // Make every 32-bit size field in the central directory huge.
    const forged = new Uint8Array(zip);
    const dv = new DataView(forged.buffer);
    for (let i = 0; i + 46 <= forged.length; i++) {
      if (dv.getUint32(i, true) === 0x02014b50) {
        dv.setUint32(i + 20, 0x7ffffff0, true);
        dv.setUint32(i + 24, 0x7ffffff0, true);
      }
    }
    assert.throws(() => loadTorchFile(forged), (e: unknown) => e instanceof CheckpointError && e.code === 'out-of-bounds');
    // The end record claims 60000 entries in a tiny directory.
    const many = new Uint8Array(zip);
    const mdv = new DataView(many.buffer);
    const eocd = many.length - 22;
    mdv.setUint16(eocd + 8, 60000, true);
    mdv.setUint16(eocd + 10, 60000, true);
    assert.throws(() => loadTorchFile(many), (e: unknown) => e instanceof CheckpointError && e.code === 'corrupt');
  });
});
