// The safe unpickler against CPython's pickler, protocols 2–5: every opcode family torch.save and
// plain Python containers produce (memo and self-references, frames, STACK_GLOBAL, LONG4, BYTEARRAY8,
// sets), and refusal of anything outside the allow-list.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointError } from '../../src/io/index.js';
import { unpickle } from '../../src/io/pickle.js';
import { torchGlobals } from '../../src/io/torch-pickle.js';
import { python, skipWithoutPython as skip, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir('pickle');
after(cleanup);
let cached: Record<string, string> | undefined;

/** CPython's pickles of one value, protocols 2–5 (one Python run, made by the first test that needs it). */
function cpythonPickles(): Record<string, string> {
  cached ??= python<Record<string, string>>(dir, `
import base64, math
rec = [1]; rec.append(rec)
value = {
  'none': None, 't': True, 'f': False, 'small': 7, 'i16': 40000, 'neg': -123456, 'i32max': 2**31 - 1, 'i64': -2**62,
  'big': 2**100, 'huge': -(2**3000) + 1, 'pi': math.pi, 'inf': float('inf'), 'ninf': float('-inf'), 'tiny': 5e-324,
  'short': 'héllo', 'long': 'x' * 300 + '∑', 'empty': '', 'bytes': b'\\x00\\x01\\xfe', 'longbytes': bytes(range(256)) * 2,
  'ba': bytearray(b'ab'), 'tuple0': (), 'tuple1': (1,), 'tuple3': (1, 'a', None), 'tuple5': (1, 2, 3, 4, 5),
  'list': [1, [2, [3, []]]], 'set': {3}, 'frozen': frozenset({4}), 'od': collections.OrderedDict([('b', 1), ('a', 2)]),
  'intkeys': {1: 'one', -1: 'minus one'}, 'rec': rec, 'shared': [rec, rec], 'many': list(range(2500)),
  'dd': collections.defaultdict(list, {'k': [1]}),
}
OUTPUT = {f'p{p}': base64.b64encode(pickle.dumps(value, protocol=p)).decode() for p in (2, 3, 4, 5)}
`, { withTorch: false });
  return cached;
}

function load(b64: string): Map<unknown, unknown> {
  const { value } = unpickle(Buffer.from(b64, 'base64'), { findGlobal: torchGlobals('reject') });
  assert.ok(value instanceof Map);
  return value;
}

for (const proto of [2, 3, 4, 5]) {
  test(`protocol ${proto}: CPython's pickles decode to the same values`, { skip }, () => {
    const v = load(cpythonPickles()[`p${proto}`]!);
    const g = (k: string): unknown => v.get(k);
    assert.equal(g('none'), null);
    assert.equal(g('t'), true);
    assert.equal(g('f'), false);
    assert.equal(g('small'), 7);
    assert.equal(g('i16'), 40000);
    assert.equal(g('neg'), -123456);
    assert.equal(g('i32max'), 2 ** 31 - 1);
    assert.equal(g('i64'), -(2n ** 62n));
    assert.equal(g('big'), 2n ** 100n);
    assert.equal(g('huge'), -(2n ** 3000n) + 1n);
    assert.equal(g('pi'), Math.PI);
    assert.equal(g('inf'), Infinity);
    assert.equal(g('ninf'), -Infinity);
    assert.equal(g('tiny'), 5e-324);
    assert.equal(g('short'), 'héllo');
    assert.equal(g('long'), `${'x'.repeat(300)}∑`);
    assert.equal(g('empty'), '');
    assert.deepEqual(g('bytes'), new Uint8Array([0, 1, 0xfe]));
    assert.equal((g('longbytes') as Uint8Array).length, 512);
    assert.equal((g('longbytes') as Uint8Array)[511], 255);
    assert.deepEqual(g('ba'), new Uint8Array([0x61, 0x62]));
    assert.deepEqual(g('tuple0'), []);
    assert.deepEqual(g('tuple1'), [1]);
    assert.deepEqual(g('tuple3'), [1, 'a', null]);
    assert.deepEqual(g('tuple5'), [1, 2, 3, 4, 5]);
    assert.deepEqual(g('list'), [1, [2, [3, []]]]);
    assert.deepEqual(g('set'), new Set([3]));
    assert.deepEqual(g('frozen'), new Set([4]));
    assert.deepEqual([...(g('od') as Map<string, number>)], [['b', 1], ['a', 2]], 'OrderedDict keeps its order');
    assert.deepEqual([...(g('intkeys') as Map<number, string>)], [[1, 'one'], [-1, 'minus one']]);
    const rec = g('rec') as unknown[];
    assert.equal(rec[0], 1);
    assert.equal(rec[1], rec, 'a self-reference comes back as one object');
    const shared = g('shared') as unknown[];
    assert.equal(shared[0], rec);
    assert.equal(shared[1], rec);
    assert.deepEqual(g('many'), Array.from({ length: 2500 }, (_, i) => i));
    assert.deepEqual([...(g('dd') as Map<string, unknown>)], [['k', [1]]]);
  });
}

test('globals outside the allow-list are refused by name; placeholders record them inertly', () => {
  // GLOBAL 'subprocess check_output', then ('ls',) REDUCE, STOP
  const evil = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('csubprocess\ncheck_output\n'), Buffer.from([0x58, 2, 0, 0, 0]), Buffer.from('ls'), Buffer.from([0x85, 0x52, 0x2e])]);
  assert.throws(() => unpickle(evil, { findGlobal: torchGlobals('reject') }),
    (e: unknown) => e instanceof CheckpointError && e.code === 'unknown-global' && /'subprocess\.check_output'/.test(e.message));
  const { value } = unpickle(evil, { findGlobal: torchGlobals('placeholder') });
  assert.equal((value as { className: string }).className, 'subprocess.check_output');
  assert.deepEqual((value as { args: unknown[] }).args, ['ls']);
});

test('malformed pickles: underflow, missing STOP, bad memo, unknown opcodes, forged lengths', () => {
  const bad: [string, number[], string][] = [
    ['empty', [], 'truncated'],
    ['no STOP', [0x80, 2, 0x4b, 1], 'truncated'],
    ['stack underflow', [0x80, 2, 0x2e], 'corrupt'],
    ['pop below mark', [0x80, 2, 0x4b, 1, 0x28, 0x85, 0x2e], 'corrupt'],
    ['memo miss', [0x80, 2, 0x68, 9, 0x2e], 'corrupt'],
    ['forged BINUNICODE length', [0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61, 0x2e], 'truncated'],
    ['forged BINBYTES8 length', [0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x2e], 'out-of-bounds'],
    ['negative LONG4 length', [0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0xff, 0x2e], 'corrupt'],
    ['unknown opcode', [0x80, 2, 0xff, 0x2e], 'corrupt'],
    ['protocol 6', [0x80, 6, 0x4e, 0x2e], 'unsupported'],
    ['bad UTF-8', [0x80, 2, 0x8c, 1, 0xff, 0x2e], 'corrupt'],
    ['SETITEMS on a list', [0x80, 2, 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x75, 0x2e], 'corrupt'],
    ['REDUCE on a number', [0x80, 2, 0x4b, 1, 0x29, 0x52, 0x2e], 'corrupt'],
    ['GLOBAL without newline', [0x80, 2, 0x63, 0x61, 0x62], 'truncated'],
    ['persistent id with no loader', [0x80, 2, 0x4b, 1, 0x51, 0x2e], 'corrupt'],
  ];
  for (const [name, bytes, code] of bad) {
    assert.throws(() => unpickle(Uint8Array.from(bytes), { findGlobal: torchGlobals('reject') }),
      (e: unknown) => e instanceof CheckpointError && e.code === code, name);
  }
});
