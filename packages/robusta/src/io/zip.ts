// The zip container of torch.save (PKWARE APPNOTE 6.3.x): read STORED and DEFLATE records through the
// central directory (ZIP64 included), write STORED records whose data starts on a 64-byte boundary as
// PyTorch's writer does (an 'FB' extra field filled with padding), so readers can map tensors in place.
// Every offset and length read from the file is checked before use; loops are bounded by the file size.
import * as zlib from 'node:zlib';
import { CheckpointError } from './errors.js';
import type { ByteSource } from './byte-source.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const EOCD64_LOCATOR_SIZE = 20;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const EXTRA_ZIP64 = 0x0001;
const EXTRA_PADDING = 0x4246; // 'FB', the field PyTorch's writer pads with
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** DEFLATE cannot expand data more than ~1032×; a larger declared size is a lie (or a bomb). */
const MAX_DEFLATE_RATIO = 1040;

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

export interface ZipReadOptions {
  /** Check each record's CRC-32 when it is read (default true). */
  verifyChecksums?: boolean;
}

function bad(message: string, code: 'corrupt' | 'truncated' | 'out-of-bounds' | 'unsupported' = 'corrupt'): CheckpointError {
  return new CheckpointError(message, { code });
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what} ${v} is beyond any real file`, 'out-of-bounds');
  return Number(v);
}

const crcTable: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the zip checksum). */
export function crc32(data: Uint8Array): number {
  return crc32Update(0, data);
}

const nativeCrc32 = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

/** Continues a CRC-32 over another chunk (crc32Update(0, a) === crc32(a)); node:zlib's native one when this Node has it (>= 20.15). */
function crc32Update(crc: number, data: Uint8Array): number {
  if (typeof nativeCrc32 === 'function') return nativeCrc32(data, crc) >>> 0;
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const utf8 = new TextDecoder('utf-8');

/** The entries of a zip archive, read lazily from a ByteSource. */
export class ZipReader {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly verify: boolean;

  constructor(private readonly src: ByteSource, options: ZipReadOptions = {}) {
    this.verify = options.verifyChecksums ?? true;
    this.entries = readCentralDirectory(src);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The uncompressed bytes of one record. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw bad(`the archive has no record '${name}'`);
    return this.readEntry(e);
  }

  readEntry(e: ZipEntry): Uint8Array {
    const src = this.src;
    const header = src.read(e.localHeaderOffset, LOCAL_SIZE, `local header of '${e.name}'`);
    const dv = view(header);
    if (dv.getUint32(0, true) !== SIG_LOCAL) throw bad(`record '${e.name}': no local header signature at offset ${e.localHeaderOffset}`);
    const dataStart = e.localHeaderOffset + LOCAL_SIZE + dv.getUint16(26, true) + dv.getUint16(28, true);
    const raw = src.read(dataStart, e.compressedSize, `data of '${e.name}'`);
    let data: Uint8Array;
    if (e.method === METHOD_STORED) {
      if (e.compressedSize !== e.size) throw bad(`stored record '${e.name}' has compressed size ${e.compressedSize} != size ${e.size}`);
      data = raw;
    } else if (e.method === METHOD_DEFLATE) {
      if (e.size > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
        throw bad(`record '${e.name}' claims ${e.size} bytes from ${e.compressedSize} compressed: impossible for DEFLATE`);
      }
      if (e.size === 0) data = new Uint8Array(0);
      else {
        try {
          data = zlib.inflateRawSync(raw, { maxOutputLength: e.size });
        } catch (err) {
          throw new CheckpointError(`record '${e.name}': DEFLATE data is corrupt (${(err as Error).message})`, { code: 'corrupt', cause: err });
        }
      }
      if (data.byteLength !== e.size) throw bad(`record '${e.name}' inflates to ${data.byteLength} bytes, expected ${e.size}`);
    } else {
      throw bad(`record '${e.name}' uses compression method ${e.method} (only STORED and DEFLATE are read)`, 'unsupported');
    }
    if (this.verify && crc32(data) !== e.crc32) throw bad(`record '${e.name}' fails its CRC-32 check: the file is corrupt`);
    return data;
  }
}

interface EndOfDirectory {
  count: number;
  cdSize: number;
  cdOffset: number;
}

function findEndOfDirectory(src: ByteSource): { eocd: EndOfDirectory; eocdPos: number } {
  if (src.size < EOCD_SIZE) throw bad(`too short for a zip archive (${src.size} bytes)`, 'truncated');
  // The EOCD record sits at the end, followed by a comment of up to 65535 bytes: scan backwards.
  const tailLen = Math.min(src.size, EOCD_SIZE + U16_MAX);
  const tailStart = src.size - tailLen;
  const tail = src.read(tailStart, tailLen, 'end of zip archive');
  const dv = view(tail);
  let pos = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (dv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + dv.getUint16(i + 20, true) <= tailLen) {
      pos = i;
      break;
    }
  }
  if (pos < 0) throw bad('no end-of-central-directory record: the zip archive is truncated or corrupt', 'truncated');
  const eocdPos = tailStart + pos;
  const diskNo = dv.getUint16(pos + 4, true);
  const cdDisk = dv.getUint16(pos + 6, true);
  let count = dv.getUint16(pos + 10, true);
  let cdSize = dv.getUint32(pos + 12, true);
  let cdOffset = dv.getUint32(pos + 16, true);
  const needs64 = count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX;
  const locPos = pos - EOCD64_LOCATOR_SIZE;
  if (locPos >= 0 && dv.getUint32(locPos, true) === SIG_EOCD64_LOCATOR) {
    const rec64Offset = u64(dv, locPos + 8, 'ZIP64 end record offset');
    const rec = view(src.read(rec64Offset, 56, 'ZIP64 end-of-central-directory record'));
    if (rec.getUint32(0, true) !== SIG_EOCD64) throw bad('the ZIP64 locator points at no ZIP64 end record');
    if (rec.getUint32(16, true) !== 0 || rec.getUint32(20, true) !== 0) throw bad('multi-disk zip archives are not supported', 'unsupported');
    count = u64(rec, 32, 'ZIP64 entry count');
    cdSize = u64(rec, 40, 'ZIP64 central directory size');
    cdOffset = u64(rec, 48, 'ZIP64 central directory offset');
  } else if (needs64) {
    throw bad('the zip archive needs a ZIP64 end record but has none');
  } else if (diskNo !== 0 || cdDisk !== 0) {
    throw bad('multi-disk zip archives are not supported', 'unsupported');
  }
  return { eocd: { count, cdSize, cdOffset }, eocdPos };
}

function readCentralDirectory(src: ByteSource): Map<string, ZipEntry> {
  const { eocd, eocdPos } = findEndOfDirectory(src);
  if (eocd.cdOffset + eocd.cdSize > eocdPos) throw bad(`central directory (${eocd.cdOffset}+${eocd.cdSize}) overlaps its end record at ${eocdPos}`, 'out-of-bounds');
  if (eocd.count * CENTRAL_SIZE > eocd.cdSize) throw bad(`${eocd.count} entries cannot fit a ${eocd.cdSize}-byte central directory`);
  const cd = src.read(eocd.cdOffset, eocd.cdSize, 'central directory');
  const dv = view(cd);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < eocd.count; i++) {
    if (p + CENTRAL_SIZE > cd.byteLength) throw bad(`central directory entry ${i} runs past the directory`, 'truncated');
    if (dv.getUint32(p, true) !== SIG_CENTRAL) throw bad(`central directory entry ${i} has a bad signature`);
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localHeaderOffset = dv.getUint32(p + 42, true);
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cd.byteLength) throw bad(`central directory entry ${i} runs past the directory`, 'truncated');
    const name = utf8.decode(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen));
    // ZIP64 extended information: the 8-byte values of the fields that overflowed, in this order.
    if (size === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX) {
      let q = p + CENTRAL_SIZE + nameLen;
      const extraEnd = q + extraLen;
      let found = false;
      while (q + 4 <= extraEnd) {
        const id = dv.getUint16(q, true);
        const len = dv.getUint16(q + 2, true);
        if (q + 4 + len > extraEnd) throw bad(`entry '${name}': extra field overruns its area`);
        if (id === EXTRA_ZIP64) {
          let r = q + 4;
          const take = (what: string): number => {
            if (r + 8 > q + 4 + len) throw bad(`entry '${name}': ZIP64 field too short for the ${what}`);
            const v = u64(dv, r, `entry '${name}' ${what}`);
            r += 8;
            return v;
          };
          if (size === U32_MAX) size = take('size');
          if (compressedSize === U32_MAX) compressedSize = take('compressed size');
          if (localHeaderOffset === U32_MAX) localHeaderOffset = take('header offset');
          found = true;
          break;
        }
        q += 4 + len;
      }
      if (!found) throw bad(`entry '${name}' declares ZIP64 sizes but has no ZIP64 field`);
    }
    if (flags & 0x1) throw bad(`entry '${name}' is encrypted`, 'unsupported');
    if (localHeaderOffset + LOCAL_SIZE > eocd.cdOffset) throw bad(`entry '${name}': local header offset ${localHeaderOffset} is outside the data area`, 'out-of-bounds');
    if (localHeaderOffset + compressedSize > eocd.cdOffset) throw bad(`entry '${name}': ${compressedSize} bytes at ${localHeaderOffset} run into the central directory`, 'out-of-bounds');
    if (entries.has(name)) throw bad(`the archive holds '${name}' twice`);
    entries.set(name, { name, method, flags, crc32: crc, compressedSize, size, localHeaderOffset });
    p = end;
  }
  return entries;
}

// ---- writing ------------------------------------------------------------------------------------

export interface ZipWriteOptions {
  /** Data of each record starts at a multiple of this (PyTorch uses 64). */
  alignment?: number;
  /**
   * Sizes and offsets at or above this use ZIP64 records (default 0xFFFFFFFF, as the format requires).
   * Tests lower it to exercise the ZIP64 path on small archives.
   */
  zip64Threshold?: number;
}

interface WrittenEntry {
  nameBytes: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

/**
 * Streams a STORED zip archive into a sink (a file, or chunks in memory). Records are written whole:
 * add(name, data) writes the local header, padding and data at once.
 */
export class ZipWriter {
  private offset = 0;
  private readonly written: WrittenEntry[] = [];
  private readonly names = new Set<string>();
  private readonly alignment: number;
  private readonly zip64At: number;
  private finished = false;

  constructor(private readonly sink: (chunk: Uint8Array) => void, options: ZipWriteOptions = {}) {
    this.alignment = options.alignment ?? 64;
    this.zip64At = options.zip64Threshold ?? U32_MAX;
    if (!Number.isInteger(this.alignment) || this.alignment < 1 || this.alignment > 4096) {
      throw new RangeError(`zip alignment must be an integer in 1..4096, got ${this.alignment}`);
    }
  }

  private emit(chunk: Uint8Array): void {
    this.sink(chunk);
    this.offset += chunk.byteLength;
  }

  /** Adds one record; `data` may be given as several chunks (written back to back). */
  add(name: string, data: Uint8Array | readonly Uint8Array[]): void {
    if (this.finished) throw new Error('ZipWriter: add() after finish()');
    if (this.names.has(name)) throw new Error(`ZipWriter: duplicate record name '${name}'`);
    this.names.add(name);
    const parts = data instanceof Uint8Array ? [data] : data;
    let size = 0;
    let crc = 0;
    for (const part of parts) {
      size += part.byteLength;
      crc = crc32Update(crc, part);
    }
    const nameBytes = new TextEncoder().encode(name);
    const zip64 = size >= this.zip64At || this.offset >= this.zip64At;
    const zip64Len = zip64 ? 4 + 16 : 0;
    const unpadded = this.offset + LOCAL_SIZE + nameBytes.byteLength + zip64Len + 4;
    const pad = (this.alignment - (unpadded % this.alignment)) % this.alignment;
    const extraLen = zip64Len + 4 + pad;
    const h = new Uint8Array(LOCAL_SIZE + nameBytes.byteLength + extraLen);
    const dv = view(h);
    dv.setUint32(0, SIG_LOCAL, true);
    dv.setUint16(4, zip64 ? 45 : 20, true); // version needed: 4.5 for ZIP64, else 2.0
    dv.setUint16(6, nonAscii(name) ? 0x0800 : 0, true); // bit 11: the name is UTF-8
    dv.setUint16(8, METHOD_STORED, true);
    dv.setUint16(10, 0, true); // time and date: left 0, as PyTorch does (reproducible files)
    dv.setUint16(12, 0x21, true); // 1980-01-01, the earliest DOS date
    dv.setUint32(14, crc, true);
    dv.setUint32(18, zip64 ? U32_MAX : size, true);
    dv.setUint32(22, zip64 ? U32_MAX : size, true);
    dv.setUint16(26, nameBytes.byteLength, true);
    dv.setUint16(28, extraLen, true);
    h.set(nameBytes, LOCAL_SIZE);
    let q = LOCAL_SIZE + nameBytes.byteLength;
    if (zip64) {
      dv.setUint16(q, EXTRA_ZIP64, true);
      dv.setUint16(q + 2, 16, true);
      dv.setBigUint64(q + 4, BigInt(size), true);
      dv.setBigUint64(q + 12, BigInt(size), true);
      q += 20;
    }
    dv.setUint16(q, EXTRA_PADDING, true);
    dv.setUint16(q + 2, pad, true);
    h.fill(0x5a, q + 4, q + 4 + pad); // 'Z', PyTorch's filler
    const offset = this.offset;
    this.emit(h);
    for (const part of parts) if (part.byteLength > 0) this.emit(part);
    this.written.push({ nameBytes, crc, size, offset });
  }

  /** Writes the central directory and end records. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const cdOffset = this.offset;
    for (const e of this.written) {
      const big = [e.size >= this.zip64At, e.size >= this.zip64At, e.offset >= this.zip64At];
      const n64 = big.filter(Boolean).length;
      const extraLen = n64 > 0 ? 4 + 8 * n64 : 0;
      const c = new Uint8Array(CENTRAL_SIZE + e.nameBytes.byteLength + extraLen);
      const dv = view(c);
      dv.setUint32(0, SIG_CENTRAL, true);
      dv.setUint16(4, (3 << 8) | 45, true); // made by: Unix, spec 4.5
      dv.setUint16(6, n64 > 0 ? 45 : 20, true);
      dv.setUint16(8, nonAscii(new TextDecoder().decode(e.nameBytes)) ? 0x0800 : 0, true);
      dv.setUint16(10, METHOD_STORED, true);
      dv.setUint16(12, 0, true);
      dv.setUint16(14, 0x21, true);
      dv.setUint32(16, e.crc, true);
      dv.setUint32(20, big[1] ? U32_MAX : e.size, true);
      dv.setUint32(24, big[0] ? U32_MAX : e.size, true);
      dv.setUint16(28, e.nameBytes.byteLength, true);
      dv.setUint16(30, extraLen, true);
      dv.setUint32(38, 0o100644 << 16, true); // external attributes: a regular file, rw-r--r--
      dv.setUint32(42, big[2] ? U32_MAX : e.offset, true);
      c.set(e.nameBytes, CENTRAL_SIZE);
      if (n64 > 0) {
        let q = CENTRAL_SIZE + e.nameBytes.byteLength;
        dv.setUint16(q, EXTRA_ZIP64, true);
        dv.setUint16(q + 2, 8 * n64, true);
        q += 4;
        if (big[0]) { dv.setBigUint64(q, BigInt(e.size), true); q += 8; }
        if (big[1]) { dv.setBigUint64(q, BigInt(e.size), true); q += 8; }
        if (big[2]) { dv.setBigUint64(q, BigInt(e.offset), true); q += 8; }
      }
      this.emit(c);
    }
    const cdSize = this.offset - cdOffset;
    const count = this.written.length;
    const zip64 = count >= U16_MAX || cdSize >= this.zip64At || cdOffset >= this.zip64At;
    if (zip64) {
      const recOffset = this.offset;
      const r = new Uint8Array(56 + EOCD64_LOCATOR_SIZE);
      const dv = view(r);
      dv.setUint32(0, SIG_EOCD64, true);
      dv.setBigUint64(4, 44n, true); // size of the rest of this record
      dv.setUint16(12, (3 << 8) | 45, true);
      dv.setUint16(14, 45, true);
      dv.setBigUint64(24, BigInt(count), true);
      dv.setBigUint64(32, BigInt(count), true);
      dv.setBigUint64(40, BigInt(cdSize), true);
      dv.setBigUint64(48, BigInt(cdOffset), true);
      dv.setUint32(56, SIG_EOCD64_LOCATOR, true);
      dv.setBigUint64(64, BigInt(recOffset), true);
      dv.setUint32(72, 1, true); // total number of disks
      this.emit(r);
    }
    const end = new Uint8Array(EOCD_SIZE);
    const dv = view(end);
    dv.setUint32(0, SIG_EOCD, true);
    dv.setUint16(8, zip64 ? U16_MAX : count, true);
    dv.setUint16(10, zip64 ? U16_MAX : count, true);
    dv.setUint32(12, zip64 ? U32_MAX : cdSize, true);
    dv.setUint32(16, zip64 ? U32_MAX : cdOffset, true);
    this.emit(end);
  }
}

function nonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}
