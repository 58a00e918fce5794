// The zip container on its own: what robusta writes reads back record for record with 64-byte-aligned
// data, and each kind of damage or unsupported feature gives the matching CheckpointError.
import test from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { bytesSource } from '../../src/io/byte-source.js';
import { CheckpointError } from '../../src/io/index.js';
import { crc32, ZipReader, ZipWriter } from '../../src/io/zip.js';

function archive(records: [string, Uint8Array][], zip64Threshold?: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new ZipWriter((c) => chunks.push(new Uint8Array(c)), { alignment: 64, zip64Threshold });
  for (const [name, data] of records) w.add(name, data);
  w.finish();
  return new Uint8Array(Buffer.concat(chunks)); // own buffer: the tests patch it through DataViews
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const records: [string, Uint8Array][] = [
  ['a/data.pkl', enc('pickle bytes')],
  ['a/data/0', new Uint8Array(1000).map((_, i) => i % 251)],
  ['a/empty', new Uint8Array(0)],
  ['a/ünïcode', enc('名前')],
];

/** Offsets of the central directory entries. */
function centralEntries(zip: Uint8Array): number[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= zip.length; i++) if (dv.getUint32(i, true) === 0x02014b50) out.push(i);
  return out;
}

function expectError(bytes: Uint8Array, code: string, message: RegExp, read?: string): void {
  assert.throws(() => {
    const r = new ZipReader(bytesSource(bytes));
    if (read) r.read(read);
  }, (e: unknown) => e instanceof CheckpointError && e.code === code && message.test(e.message));
}

test('records written by ZipWriter read back exactly, data aligned to 64 bytes (plain and ZIP64)', () => {
  for (const threshold of [undefined, 0]) {
    const zip = archive(records, threshold);
    const r = new ZipReader(bytesSource(zip));
    assert.deepEqual([...r.entries.keys()], records.map(([n]) => n));
    const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    for (const [name, data] of records) {
      assert.deepEqual(new Uint8Array(r.read(name)), data, name);
      const e = r.entries.get(name)!;
      assert.equal(e.crc32, crc32(data));
      const start = e.localHeaderOffset + 30 + dv.getUint16(e.localHeaderOffset + 26, true) + dv.getUint16(e.localHeaderOffset + 28, true);
      assert.equal(start % 64, 0, `${name} data at ${start}`);
    }
  }
  assert.equal(crc32(enc('123456789')), 0xcbf43926, 'the CRC-32 check value');
});

test('an archive comment after the end record is skipped', () => {
  const zip = archive(records);
  const comment = enc('a comment that mentions PK\x05\x06 itself');
  const withComment = new Uint8Array(zip.length + comment.length);
  withComment.set(zip);
  withComment.set(comment, zip.length);
  new DataView(withComment.buffer).setUint16(zip.length - 2, comment.length, true);
  assert.deepEqual(new Uint8Array(new ZipReader(bytesSource(withComment)).read('a/data.pkl')), enc('pickle bytes'));
});

test('DEFLATE records inflate; impossible sizes, bad streams and unknown methods are refused', () => {
  // Turn the second record into a DEFLATE one by hand: compressed data replaces the stored data.
  const data = records[1]![1];
  const deflated = deflateRawSync(data);
  const zip = archive([['x', deflated]]);
  const dv = new DataView(zip.buffer);
  const [cd] = centralEntries(zip);
  dv.setUint16(8, 8, true); // local header method
  dv.setUint16(cd! + 10, 8, true); // central method
  dv.setUint32(cd! + 16, crc32(data), true);
  dv.setUint32(cd! + 24, data.length, true); // uncompressed size
  assert.deepEqual(new Uint8Array(new ZipReader(bytesSource(zip)).read('x')), data);

  const bomb = new Uint8Array(zip);
  new DataView(bomb.buffer).setUint32(cd! + 24, 0x7fffffff, true);
  expectError(bomb, 'corrupt', /impossible for DEFLATE/, 'x');
  const wrongSize = new Uint8Array(zip);
  new DataView(wrongSize.buffer).setUint32(cd! + 24, data.length - 1, true);
  expectError(wrongSize, 'corrupt', /DEFLATE data is corrupt|inflates to/, 'x');
  const garbage = new Uint8Array(zip);
  garbage.fill(0xff, 64, 64 + 8); // the compressed stream starts at the aligned offset 64
  expectError(garbage, 'corrupt', /DEFLATE|CRC/, 'x');
  const bzip2 = new Uint8Array(zip);
  new DataView(bzip2.buffer).setUint16(cd! + 10, 12, true);
  expectError(bzip2, 'unsupported', /method 12/, 'x');
});

test('damage is reported: checksum, encryption, missing end record, bad signatures, offsets out of range', () => {
  const zip = archive(records);
  const [cd0, cd1] = centralEntries(zip);
  const flipped = new Uint8Array(zip);
  flipped[64 + 3] ^= 0xff; // inside a/data.pkl's data
  expectError(flipped, 'corrupt', /CRC-32/, 'a/data.pkl');
  assert.doesNotThrow(() => new ZipReader(bytesSource(flipped), { verifyChecksums: false }).read('a/data.pkl'));

  const encrypted = new Uint8Array(zip);
  new DataView(encrypted.buffer).setUint16(cd0! + 8, 1, true);
  expectError(encrypted, 'unsupported', /encrypted/);

  expectError(zip.subarray(0, zip.length - 10), 'truncated', /end-of-central-directory/);
  expectError(new Uint8Array(10), 'truncated', /too short/);

  const badLocal = new Uint8Array(zip);
  badLocal[0] = 0;
  expectError(badLocal, 'corrupt', /no local header signature/, 'a/data.pkl');

  const badCentral = new Uint8Array(zip);
  badCentral[cd1!] = 0;
  expectError(badCentral, 'corrupt', /entry 1 has a bad signature/);

  const farOffset = new Uint8Array(zip);
  new DataView(farOffset.buffer).setUint32(cd1! + 42, 0x7fff0000, true);
  expectError(farOffset, 'out-of-bounds', /outside the data area/);

  const duplicate = archive([['same', enc('1')]]);
  assert.throws(() => archive([['same', enc('1')], ['same', enc('2')]]), /duplicate/);
  assert.equal(new ZipReader(bytesSource(duplicate)).read('same')[0], 0x31);
  expectError(zip, 'corrupt', /no record 'nope'/, 'nope');
});
