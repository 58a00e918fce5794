// Reading files that PyTorch itself wrote (Debian python3-torch 1.13, in this test): the zip format,
// the legacy format, a training checkpoint with DataParallel prefixes and optimizer state, views and
// non-contiguous tensors in every dtype, hand-crafted CUDA checkpoints, DEFLATE-compressed archives,
// plain Python values, whole pickled modules, and a malicious pickle that must be refused unexecuted.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, dispose, tensor } from '@robusta/torch';
import { CheckpointError, encodeSafetensors, loadStateDict, loadTorchFile, PickledObject } from '../../src/io/index.js';
import { python, skipWithoutTorch as skip, tempDir, tensorInfo, type TensorInfo } from './helpers.js';

const FIXTURES = `
import numpy as np
torch.manual_seed(0)
out = {}

base = torch.randn(4, 6)
half = torch.randn(7).half()
sd = collections.OrderedDict()
sd['f32'] = torch.randn(3, 5)
sd['f64'] = torch.randn(2, 3, dtype=torch.float64)
sd['f16'] = half
sd['bf16'] = torch.randn(2, 4).bfloat16()
sd['i64'] = torch.randint(-2**40, 2**40, (5,), dtype=torch.int64)
sd['i32'] = torch.randint(-2**31, 2**31 - 1, (3, 2), dtype=torch.int32)
sd['i16'] = torch.randint(-30000, 30000, (4,), dtype=torch.int16)
sd['i8'] = torch.randint(-128, 127, (6,), dtype=torch.int8)
sd['u8'] = torch.randint(0, 255, (2, 2), dtype=torch.uint8)
sd['bool'] = torch.randn(9) > 0
sd['scalar'] = torch.tensor(3.25)
sd['empty'] = torch.zeros(0, 3)
sd['base'] = base
sd['row_view'] = base[1:3]
sd['transposed'] = base.t()
sd['strided'] = base[:, ::2]
sd['expanded'] = torch.randn(3, 1).expand(3, 4)
sd['half_view'] = half[2:5]
sd['param'] = torch.nn.Parameter(torch.randn(2, 2))
torch.save(sd, P('zip.pt'))
torch.save(sd, P('legacy.pt'), _use_new_zipfile_serialization=False)
out['tensors'] = infos(sd)

# the same archive re-packed with DEFLATE (torch.load reads it too)
with zipfile.ZipFile(P('zip.pt')) as src, zipfile.ZipFile(P('deflate.pt'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for i in src.infolist(): dst.writestr(i.filename, src.read(i.filename))
assert torch.equal(torch.load(P('deflate.pt'))['f32'], sd['f32'])

# a training checkpoint: DataParallel prefixes, optimizer state, numpy scalars
model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))
dp = torch.nn.DataParallel(model)
opt = torch.optim.SGD(dp.parameters(), lr=0.1, momentum=0.9)
dp(torch.randn(2, 3, 8, 8)).sum().backward()
opt.step()
torch.save({'epoch': 3, 'state_dict': dp.state_dict(), 'optimizer': opt.state_dict(), 'best_acc': np.float64(0.93)}, P('nested.pt'))
torch.save({'epoch': 3, 'state_dict': dp.state_dict()}, P('nested-legacy.pt'), _use_new_zipfile_serialization=False)
torch.save({'encoder': model.state_dict(), 'decoder': model.state_dict()}, P('ambiguous.pt'))
torch.save(model, P('module.pt'))
out['model'] = infos(model.state_dict())
out['model_keys'] = list(model.state_dict().keys())

# plain Python values
torch.save({'epoch': 3, 'lr': 0.1, 'name': 'résumé', 'flags': [True, False, None], 'pair': (1, 2), 'big': 2**70, 'neg': -5,
            'bytes': b'\\x00\\xff', 'set': {1, 2}, 'nested': {'a': [sd['f32']]}, 'acc': np.float64(0.93), 'step': np.int64(5),
            'f32': np.float32(1.5), 'dev': torch.device('cuda', 0), 'size': torch.Size([2, 3]), 7: 'int key'}, P('misc.pt'))
pickle_protocol_4 = {'x': torch.arange(6).reshape(2, 3), 'n': 1}
torch.save(pickle_protocol_4, P('proto4.pt'), pickle_protocol=4)
torch.save(pickle_protocol_4, P('proto4-legacy.pt'), pickle_protocol=4, _use_new_zipfile_serialization=False)

# CUDA checkpoints crafted with a custom pickler (no GPU here): storages located on 'cuda:0'
class FakeStorage:
    def __init__(self, key, numel, stype): self.key, self.numel, self.stype = key, numel, stype
class FakeTensor:
    def __init__(self, st, off, size, stride): self.args = (st, off, size, stride)
    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args + (False, collections.OrderedDict()))
def cuda_pickle(obj, legacy):
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)
    def pid(o):
        if not isinstance(o, FakeStorage): return None
        return ('storage', o.stype, o.key, 'cuda:0', o.numel) + ((None,) if legacy else ())
    p.persistent_id = pid
    p.dump(obj)
    return buf.getvalue()
w = torch.randn(10)
st = FakeStorage('0', 10, torch.FloatStorage)
cuda_obj = collections.OrderedDict(weight=FakeTensor(st, 2, (2, 3), (3, 1)), whole=FakeTensor(st, 0, (10,), (1,)))
with zipfile.ZipFile(P('cuda.pt'), 'w') as z:
    z.writestr('cuda/data.pkl', cuda_pickle(cuda_obj, False))
    z.writestr('cuda/data/0', raw(w))
    z.writestr('cuda/version', '3\\n')
got = torch.load(P('cuda.pt'), map_location='cpu')
assert torch.equal(got['weight'], w[2:8].reshape(2, 3)) and got['weight'].device.type == 'cpu'
# legacy layout with the pre-1.11 CUDA storage class torch.cuda.FloatStorage
lst = FakeStorage('94', 10, torch.cuda.FloatStorage)
with open(P('cuda-legacy.pt'), 'wb') as f:
    pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}, f, protocol=2)
    f.write(cuda_pickle({'weight': FakeTensor(lst, 2, (2, 3), (3, 1))}, True))
    pickle.dump(['94'], f, protocol=2)
    f.write(struct.pack('<q', 10) + raw(w))
out['cuda'] = {'weight': info(w[2:8].reshape(2, 3)), 'whole': info(w)}

# forged views: an expand of 2^40 elements over 10, and a view reaching past its storage
def crafted(name, tensor):
    with zipfile.ZipFile(P(name), 'w') as z:
        z.writestr('f/data.pkl', cuda_pickle(collections.OrderedDict(x=tensor), False))
        z.writestr('f/data/0', raw(w))
crafted('forged-expand.pt', FakeTensor(st, 0, (2**20, 2**20), (0, 0)))
crafted('forged-reach.pt', FakeTensor(st, 4, (2, 4), (4, 1)))
torch.save(torch.ones(3), P('tensor.pt'))

# a pickle that would run a shell command if anything executed it
class Evil:
    def __reduce__(self): return (os.system, ('touch ' + P('pwned'),))
with zipfile.ZipFile(P('evil.pt'), 'w') as z:
    z.writestr('evil/data.pkl', pickle.dumps(collections.OrderedDict(w=Evil()), protocol=2))
    z.writestr('evil/version', '3\\n')
OUTPUT = out
`;

interface Fixtures {
  tensors: Record<string, TensorInfo>;
  model: Record<string, TensorInfo>;
  model_keys: string[];
  cuda: Record<string, TensorInfo>;
}

const { dir, cleanup } = tempDir('load');
let fx: Fixtures;
const p = (name: string): string => join(dir, name);

before(() => {
  if (!skip) fx = python<Fixtures>(dir, FIXTURES);
});
after(cleanup);

function assertSame(name: string, got: unknown, want: TensorInfo, opts: { layout?: boolean } = {}): void {
  assert.ok(got instanceof Tensor, `${name}: expected a Tensor, got ${String(got)}`);
  assert.equal(got.device, 'cpu', `${name}: device`);
  const g = tensorInfo(got);
  assert.equal(g.dtype, want.dtype, `${name}: dtype`);
  assert.deepEqual(g.shape, want.shape, `${name}: shape`);
  assert.equal(g.sha, want.sha, `${name}: values differ from PyTorch's`);
  if (opts.layout) assert.deepEqual(g.stride, want.stride, `${name}: stride`);
}

function asMap(v: unknown, what: string): Map<unknown, unknown> {
  assert.ok(v instanceof Map, `${what} should load as a Map`);
  return v;
}

for (const file of ['zip.pt', 'legacy.pt', 'deflate.pt']) {
  test(`${file}: every dtype, views and non-contiguous tensors match PyTorch exactly`, { skip }, () => {
    const sd = asMap(loadTorchFile(p(file)), file);
    try {
      assert.deepEqual([...sd.keys()], Object.keys(fx.tensors), 'keys in saved order');
      for (const [k, want] of Object.entries(fx.tensors)) assertSame(`${file}:${k}`, sd.get(k), want, { layout: true });
      const t = (k: string): Tensor => sd.get(k) as Tensor;
      // Views load as views of one storage, as torch.load rebuilds them.
      assert.ok(t('row_view').sharesStorageWith(t('base')));
      assert.ok(t('transposed').sharesStorageWith(t('base')) && !t('transposed').isContiguous());
      assert.ok(t('half_view').sharesStorageWith(t('f16')));
      assert.ok(!t('f32').sharesStorageWith(t('base')));
      assert.deepEqual(t('expanded').stride(), [1, 0]);
      assert.equal(t('param').requiresGrad, true, 'a Parameter keeps requires_grad');
      assert.equal(t('f32').requiresGrad, false);
    } finally {
      dispose(sd);
    }
  });
}

test('loadStateDict: a nested training checkpoint with DataParallel prefixes (zip and legacy)', { skip }, () => {
  for (const file of ['nested.pt', 'nested-legacy.pt']) {
    const sd = loadStateDict(p(file));
    try {
      assert.deepEqual([...sd.keys()], fx.model_keys, `${file}: 'module.' stripped, order kept, optimizer state left out`);
      for (const [k, want] of Object.entries(fx.model)) assertSame(`${file}:${k}`, sd.get(k), want);
      for (const t of sd.values()) assert.equal(t.requiresGrad, false, 'state dict tensors are plain tensors');
    } finally {
      dispose(sd);
    }
  }
  // Keys kept as saved on request; an explicit key; an explicit key that is missing.
  const raw = loadStateDict(p('nested.pt'), { stripPrefixes: [], key: 'state_dict' });
  assert.ok([...raw.keys()].every((k) => k.startsWith('module.')));
  dispose(raw);
  assert.throws(() => loadStateDict(p('nested.pt'), { key: 'ema' }),
    (e: unknown) => e instanceof CheckpointError && e.code === 'no-state-dict' && /'ema'/.test(e.message) && /state_dict/.test(e.message));
  const chosen = loadStateDict(p('ambiguous.pt'), { key: ['decoder'] });
  assert.deepEqual([...chosen.keys()], fx.model_keys);
  dispose(chosen);
  assert.throws(() => loadStateDict(p('ambiguous.pt')),
    (e: unknown) => e instanceof CheckpointError && e.code === 'no-state-dict' && /'encoder', 'decoder'/.test(e.message));
});

test('the whole checkpoint: numbers, strings, numpy scalars and the optimizer state come through', { skip }, () => {
  const ckpt = asMap(loadTorchFile(p('nested.pt')), 'nested.pt');
  assert.equal(ckpt.get('epoch'), 3);
  assert.equal(ckpt.get('best_acc'), 0.93);
  const opt = asMap(ckpt.get('optimizer'), 'optimizer');
  const groups = opt.get('param_groups') as Map<string, unknown>[];
  assert.equal(groups[0]!.get('lr'), 0.1);
  assert.equal(groups[0]!.get('momentum'), 0.9);
  const state = asMap(opt.get('state'), 'optimizer state');
  assert.ok(asMap(state.get(0), 'state[0]').get('momentum_buffer') instanceof Tensor);
  dispose(ckpt);

  const misc = asMap(loadTorchFile(p('misc.pt')), 'misc.pt');
  assert.equal(misc.get('epoch'), 3);
  assert.equal(misc.get('lr'), 0.1);
  assert.equal(misc.get('name'), 'résumé');
  assert.deepEqual(misc.get('flags'), [true, false, null]);
  assert.deepEqual(misc.get('pair'), [1, 2]);
  assert.equal(misc.get('big'), 2n ** 70n);
  assert.equal(misc.get('neg'), -5);
  assert.deepEqual(misc.get('bytes'), new Uint8Array([0, 255]));
  assert.deepEqual(misc.get('set'), new Set([1, 2]));
  assert.equal(misc.get('acc'), 0.93);
  assert.equal(misc.get('step'), 5);
  assert.equal(misc.get('f32'), 1.5);
  assert.equal(misc.get('dev'), 'cuda:0');
  assert.deepEqual(misc.get('size'), [2, 3]);
  assert.equal(misc.get(7), 'int key');
  const nested = asMap(misc.get('nested'), 'nested');
  assertSame('nested.a[0]', (nested.get('a') as unknown[])[0], fx.tensors.f32!);
  dispose(misc);

  for (const file of ['proto4.pt', 'proto4-legacy.pt']) {
    const v = asMap(loadTorchFile(p(file)), file);
    assert.deepEqual((v.get('x') as Tensor).tolist(), [[0, 1, 2], [3, 4, 5]]);
    assert.equal((v.get('x') as Tensor).dtype, 'int64');
    assert.equal(v.get('n'), 1);
    dispose(v);
  }
});

test('storages saved on CUDA load to the CPU (zip, and legacy with torch.cuda.FloatStorage)', { skip }, () => {
  const zip = asMap(loadTorchFile(p('cuda.pt')), 'cuda.pt');
  assertSame('cuda.pt:weight', zip.get('weight'), fx.cuda.weight!);
  assertSame('cuda.pt:whole', zip.get('whole'), fx.cuda.whole!);
  assert.ok((zip.get('weight') as Tensor).sharesStorageWith(zip.get('whole') as Tensor));
  dispose(zip);
  const legacy = loadStateDict(p('cuda-legacy.pt'));
  assertSame('cuda-legacy.pt:weight', legacy.get('weight'), fx.cuda.weight!);
  dispose(legacy);
});

test('a pickled whole module: refused by default, read as inert data on request', { skip }, () => {
  assert.throws(() => loadStateDict(p('module.pt')), (e: unknown) =>
    e instanceof CheckpointError && e.code === 'unknown-global' && e.path === p('module.pt') &&
    /torch\.nn\.modules\.container\.Sequential/.test(e.message) && /state_dict/.test(e.message));
  const sd = loadStateDict(p('module.pt'), { unknownGlobals: 'placeholder' });
  assert.deepEqual([...sd.keys()], fx.model_keys, 'the module tree gives state_dict() keys in order');
  for (const [k, want] of Object.entries(fx.model)) assertSame(`module.pt:${k}`, sd.get(k), want);
  dispose(sd);
  const whole = loadTorchFile(p('module.pt'), { unknownGlobals: 'placeholder' });
  assert.ok(whole instanceof PickledObject);
  assert.equal(whole.className, 'torch.nn.modules.container.Sequential');
  assert.equal(whole.attributes?.get('training'), true);
  dispose(loadStateDict(p('module.pt'), { unknownGlobals: 'placeholder' }));
});

test('a malicious pickle is refused without running it, naming the global', { skip }, () => {
  for (const unknownGlobals of ['reject', 'placeholder'] as const) {
    const run = (): unknown => (unknownGlobals === 'reject' ? loadTorchFile(p('evil.pt')) : loadStateDict(p('evil.pt'), { unknownGlobals }));
    assert.throws(run, (e: unknown) => e instanceof CheckpointError && (unknownGlobals === 'placeholder' ? e.code === 'no-state-dict' : e.code === 'unknown-global' && /'posix\.system'/.test(e.message)));
  }
  assert.equal(existsSync(p('pwned')), false, 'nothing was executed');
});

test('forged views are refused before libtorch sees them; a bare tensor is no state dict', { skip }, () => {
  assert.throws(() => loadTorchFile(p('forged-expand.pt')), (e: unknown) => e instanceof CheckpointError && e.code === 'out-of-bounds' && /not plausible/.test(e.message));
  assert.throws(() => loadTorchFile(p('forged-reach.pt')), (e: unknown) => e instanceof CheckpointError && e.code === 'out-of-bounds' && /reaches past its storage/.test(e.message));
  const t = loadTorchFile(p('tensor.pt'));
  assert.ok(t instanceof Tensor);
  assert.deepEqual(t.tolist(), [1, 1, 1]);
  t.dispose();
  assert.throws(() => loadStateDict(p('tensor.pt')), (e: unknown) => e instanceof CheckpointError && e.code === 'no-state-dict' && /a single tensor/.test(e.message));
});

test('missing files, directories, wrong formats and safetensors given to loadTorchFile', { skip }, () => {
  assert.throws(() => loadTorchFile(42 as unknown as string), TypeError);
  const missing = p('nope.pt');
  assert.throws(() => loadTorchFile(missing), (e: unknown) => e instanceof CheckpointError && e.code === 'not-found' && e.path === missing && e.message.includes(missing));
  assert.throws(() => loadStateDict(dir), (e: unknown) => e instanceof CheckpointError && e.code === 'io');
  assert.throws(() => loadTorchFile(new TextEncoder().encode('hello, world, not a checkpoint')), (e: unknown) => e instanceof CheckpointError && e.code === 'bad-magic');
  assert.throws(() => loadTorchFile(new Uint8Array(0)), (e: unknown) => e instanceof CheckpointError && e.code === 'bad-magic');
  // A pickle that is not a torch checkpoint (wrong magic number).
  assert.throws(() => loadTorchFile(new Uint8Array([0x80, 0x02, 0x4b, 0x05, 0x2e])), (e: unknown) => e instanceof CheckpointError && e.code === 'bad-magic');
  const st = encodeSafetensors({ w: tensor([1, 2]) });
  assert.throws(() => loadTorchFile(st), (e: unknown) => e instanceof CheckpointError && e.code === 'unsupported' && /loadSafetensors/.test(e.message));
  const fromSt = loadStateDict(st);
  assert.deepEqual(fromSt.get('w')!.tolist(), [1, 2]);
  dispose(fromSt);
  // Bytes work as well as paths.
  const sd = loadStateDict(readFileSync(p('zip.pt')));
  assert.equal(sd.size, Object.keys(fx.tensors).length);
  dispose(sd);
});
