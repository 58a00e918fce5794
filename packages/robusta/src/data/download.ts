// Fetching dataset archives: resumable (an interrupted download continues from its .part file with
// an HTTP Range request), verified (MD5 against the published checksum; a bad file is deleted), and
// idempotent (an existing file with the right checksum is not fetched again).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ChecksumError, DownloadError } from './errors.js';

/** The MD5 of a file, as lowercase hex. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

export interface DownloadOptions {
  /** The expected MD5 (hex); the file is deleted and ChecksumError thrown on a mismatch. */
  md5?: string;
  /** Called as bytes arrive. */
  onProgress?: (received: number, total: number | null) => void;
}

function describeFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { code?: string }).code;
  return code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** Checks a file's MD5; on a mismatch deletes it and throws ChecksumError (`origin` names where it came from). */
export async function verifyFile(path: string, md5: string | undefined, origin: string): Promise<void> {
  if (md5 === undefined) return;
  const actual = await md5File(path);
  if (actual !== md5.toLowerCase()) {
    rmSync(path, { force: true });
    throw new ChecksumError(
      `${basename(path)} from ${origin} has MD5 ${actual}, expected ${md5}: the file was deleted (corrupted or tampered download; run again to retry)`,
      md5, actual);
  }
}

/**
 * Downloads url to dest (node's fetch). Skips the download when dest exists with the expected
 * checksum; resumes from dest + '.part' when an earlier attempt was interrupted.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  if (existsSync(dest)) {
    if (options.md5 === undefined || (await md5File(dest)) === options.md5.toLowerCase()) return;
    rmSync(dest, { force: true }); // a stale or broken copy: fetch it again
  }
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;

  let response: Response;
  try {
    response = await fetch(url, have > 0 ? { headers: { Range: `bytes=${have}-` } } : {});
  } catch (err) {
    throw new DownloadError(
      `could not download ${url} (${describeFailure(err)}): are you offline? ` +
      `You can place ${basename(dest)} at ${dest} yourself, or point the base URL at a mirror.`, { cause: err });
  }
  let append = false;
  if (response.status === 206 && have > 0) {
    append = true;
  } else if (response.status === 416 && have > 0) {
    // The .part file already holds every byte: nothing more to fetch.
    await response.body?.cancel();
    renameSync(part, dest);
    await verifyFile(dest, options.md5, url);
    return;
  } else if (!response.ok) {
    await response.body?.cancel();
    throw new DownloadError(`could not download ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  if (response.body === null) throw new DownloadError(`could not download ${url}: empty response`);

  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? (append ? have : 0) + length : null;
  let received = append ? have : 0;
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  if (options.onProgress) {
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      options.onProgress!(received, total);
    });
  }
  try {
    await pipeline(body, createWriteStream(part, { flags: append ? 'a' : 'w' }));
  } catch (err) {
    throw new DownloadError(`the download of ${url} was interrupted (${describeFailure(err)}); run again to resume`, { cause: err });
  }
  const size = statSync(part).size;
  if (total !== null && size !== total) {
    throw new DownloadError(`the download of ${url} stopped at ${size} of ${total} bytes; run again to resume`);
  }
  renameSync(part, dest);
  await verifyFile(dest, options.md5, url);
}
