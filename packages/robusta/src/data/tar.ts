// A small reader for tar archives (POSIX ustar, with the GNU long-name and pax path extensions):
// 512-byte headers, each followed by the entry's data padded to a multiple of 512 bytes; the archive
// ends with two zero blocks. Enough for dataset archives; links and devices are listed, not followed.
import { DataFormatError } from './errors.js';

export interface TarEntry {
  /** The path inside the archive ('/'-separated, no leading './'). */
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  /** The entry's bytes (a view into the archive). */
  data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function text(b: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && b[end] !== 0) end++;
  return decoder.decode(b.subarray(start, end));
}

/** A numeric header field: octal text, or GNU base-256 when the first byte has its high bit set. */
function number(b: Uint8Array, start: number, length: number, what: string): number {
  if ((b[start]! & 0x80) !== 0) {
    let v = b[start]! & 0x7f;
    for (let i = start + 1; i < start + length; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = text(b, start, length).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new DataFormatError(`tar: bad ${what} field '${s}'`);
  return parseInt(s, 8);
}

function isZeroBlock(b: Uint8Array, at: number): boolean {
  for (let i = at; i < at + BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Pax extended header records: "<length> <key>=<value>\n". */
function paxPath(data: Uint8Array): string | undefined {
  const s = decoder.decode(data);
  let i = 0;
  let path: string | undefined;
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = parseInt(s.slice(i, sp), 10);
    if (!(len > 0)) break;
    const record = s.slice(sp + 1, i + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    i += len;
  }
  return path;
}

function normalise(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** Lists the entries of an (uncompressed) tar archive. Throws DataFormatError when it is malformed or truncated. */
export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= archive.length) {
    if (isZeroBlock(archive, at)) return entries;
    const h = archive.subarray(at, at + BLOCK);
    const stored = number(h, 148, 8, 'checksum');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== stored) throw new DataFormatError(`tar: header checksum mismatch at byte ${at} (not a tar archive, or corrupted)`);
    const size = number(h, 124, 12, 'size');
    const flag = String.fromCharCode(h[156]!);
    const dataStart = at + BLOCK;
    if (dataStart + size > archive.length) {
      throw new DataFormatError(`tar: truncated: entry at byte ${at} needs ${size} bytes, the archive ends first`);
    }
    const data = archive.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (flag === 'L') { longName = text(data, 0, data.length); continue; }
    if (flag === 'x') { longName = paxPath(data) ?? longName; continue; }
    if (flag === 'g' || flag === 'K') continue;

    let name = text(h, 0, 100);
    if (text(h, 257, 5) === 'ustar') {
      const prefix = text(h, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    if (longName !== undefined) { name = longName; longName = undefined; }
    const type = flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : 'other';
    entries.push({ name: normalise(name), type, size, data });
  }
  if (at < archive.length || entries.length === 0) throw new DataFormatError('tar: truncated archive (no end-of-archive blocks)');
  return entries; // some writers omit the two zero blocks at an exact end
}
