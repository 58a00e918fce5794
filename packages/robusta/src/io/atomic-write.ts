// Atomic file replacement: write a temporary file next to the target, fsync it, rename it over the
// target, fsync the directory. A crash or error mid-write leaves the old file (or none), never half a file.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CheckpointError } from './errors.js';

/** Writes a file through `produce`, which hands chunks to `write`; the file appears whole or not at all. */
export function writeFileAtomic(path: string, produce: (write: (chunk: Uint8Array) => void) => void): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o644);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new CheckpointError(`cannot write ${path}: ${(err as Error).message}`, { code: code === 'ENOENT' ? 'not-found' : 'io', path, cause: err });
  }
  let ok = false;
  try {
    produce((chunk) => {
      for (let done = 0; done < chunk.byteLength;) done += writeSync(fd, chunk, done, chunk.byteLength - done);
    });
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    ok = true;
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError || err instanceof CheckpointError) throw err;
    throw new CheckpointError(`cannot write ${path}: ${(err as Error).message}`, { code: 'io', path, cause: err });
  } finally {
    if (fd >= 0) closeSync(fd);
    if (!ok) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
    }
  }
  // Make the rename itself durable; some filesystems refuse to fsync a directory, which is harmless.
  try {
    const dfd = openSync(dir, 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* best effort */ }
}
