// Random access to the bytes of a checkpoint, from memory or from a file descriptor. Readers ask for
// (offset, length) ranges; every range is checked against the real size before anything is allocated,
// so a forged length can never make us allocate more than the file holds. Files are read piecewise,
// which also lets zip checkpoints larger than one Buffer be read record by record.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from './errors.js';

export interface ByteSource {
  /** The file path, when the bytes come from a file. */
  readonly path: string | undefined;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; a CheckpointError when the range leaves the source. */
  read(offset: number, length: number, what: string): Uint8Array;
  close(): void;
}

function checkRange(size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new CheckpointError(`${what}: invalid range (offset ${offset}, length ${length})`, { code: 'out-of-bounds' });
  }
  if (offset + length > size) {
    const code = offset <= size ? 'truncated' : 'out-of-bounds';
    throw new CheckpointError(`${what}: needs bytes ${offset}..${offset + length} but the data has ${size}`, { code });
  }
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    path: undefined,
    size: bytes.byteLength,
    read(offset, length, what) {
      checkRange(bytes.byteLength, offset, length, what);
      return bytes.subarray(offset, offset + length);
    },
    close() {},
  };
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export function fileSource(path: string): ByteSource {
  let fd: number;
  let size: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') throw new CheckpointError(`no such file: ${path}`, { code: 'not-found', path, cause: err });
    throw new CheckpointError(`cannot open ${path}: ${(err as Error).message}`, { code: 'io', path, cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CheckpointError(`${path} is not a regular file`, { code: 'io', path });
    size = st.size;
  } catch (err) {
    closeSync(fd);
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`cannot stat ${path}: ${(err as Error).message}`, { code: 'io', path, cause: err });
  }
  let open = true;
  return {
    path,
    size,
    read(offset, length, what) {
      checkRange(size, offset, length, what);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      // readSync may return short counts; a zero read before the end means the file shrank under us.
      while (done < length) {
        let n: number;
        try {
          n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
        } catch (err) {
          throw new CheckpointError(`cannot read ${path}: ${(err as Error).message}`, { code: 'io', path, cause: err });
        }
        if (n === 0) throw new CheckpointError(`${what}: ${path} ended early (was it modified while reading?)`, { code: 'truncated', path });
        done += n;
      }
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** A source for a path or in-memory bytes; the caller closes it. */
export function openSource(input: string | Uint8Array): ByteSource {
  if (typeof input === 'string') return fileSource(input);
  if (input instanceof Uint8Array) return bytesSource(input);
  throw new TypeError(`expected a file path or a Uint8Array, got ${input === null ? 'null' : typeof input}`);
}

/** Throws a TypeError (not a CheckpointError: this is a programming error) unless input is a path or bytes. */
export function checkInput(input: unknown): asserts input is string | Uint8Array {
  if (typeof input === 'string' || input instanceof Uint8Array) return;
  throw new TypeError(`expected a file path or a Uint8Array, got ${input === null ? 'null' : typeof input}`);
}

/** Runs fn with an open source and closes it afterwards. */
export function withSource<T>(input: string | Uint8Array, fn: (src: ByteSource) => T): T {
  const src = openSource(input);
  try {
    return fn(src);
  } finally {
    src.close();
  }
}

/** Concatenates chunks into one standalone Uint8Array (unlike Buffer.concat, never a slice of Node's pool). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
