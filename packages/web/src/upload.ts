// Uploaded images: checked before anything decodes them. The body size is capped by the route; here
// the declared type must be PNG or JPEG, the signature bytes must agree, and the dimensions read from
// the header (PNG's IHDR, JPEG's start-of-frame) must be sane — a few-kilobyte file can declare
// 60000 × 60000 pixels and make a decoder allocate gigabytes. The full decode happens in the attack's
// child process, never on the server's event loop.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data } from 'robusta';

export type UploadFormat = 'png' | 'jpeg';

export interface UploadLimits {
  /** Bytes (default 5 MiB). */
  maxBytes: number;
  /** Largest width or height (default 4096). */
  maxSide: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { maxBytes: 5 * 1024 * 1024, maxSide: 4096 };

/** Why an upload was refused, with the HTTP status that says so. */
export class UploadError extends Error {
  constructor(message: string, readonly status: 400 | 413 | 415 | 422) {
    super(message);
    this.name = 'UploadError';
  }
}

export interface CheckedUpload {
  format: UploadFormat;
  width: number;
  height: number;
}

const MIME: Record<string, UploadFormat> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg' };

/** The width and height a PNG or JPEG header declares (null when the header cannot be read). */
export function headerDimensions(bytes: Uint8Array, format: UploadFormat): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    // 8-byte signature, then the IHDR chunk: length (4), 'IHDR' (4), width (4), height (4).
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  // JPEG: walk the marker segments to the first start-of-frame (SOF0–SOF15 except DHT, JPG, DAC).
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) { i++; continue; }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; }
    const length = view.getUint16(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
    }
    if (length < 2) return null;
    i += 2 + length;
  }
  return null;
}

/** Checks an upload's declared type, signature and dimensions; throws UploadError (with its status). */
export function checkUpload(bytes: Uint8Array, contentType: string | undefined, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS): CheckedUpload {
  if (bytes.length > limits.maxBytes) throw new UploadError(`the image is larger than ${limits.maxBytes} bytes`, 413);
  if (bytes.length === 0) throw new UploadError('the upload is empty', 400);
  const declared = MIME[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
  if (!declared) throw new UploadError(`only PNG and JPEG images are accepted (Content-Type image/png or image/jpeg, got '${contentType ?? ''}')`, 415);
  const sniffed = data.sniffImageFormat(bytes);
  if (sniffed === null) throw new UploadError('the file is not a PNG or JPEG image', 415);
  if (sniffed !== declared) throw new UploadError(`the file is a ${sniffed.toUpperCase()} image but was sent as ${declared.toUpperCase()}`, 415);
  const dims = headerDimensions(bytes, sniffed);
  if (!dims || dims.width < 1 || dims.height < 1) throw new UploadError(`the ${sniffed.toUpperCase()} header is unreadable`, 422);
  if (dims.width > limits.maxSide || dims.height > limits.maxSide) {
    throw new UploadError(`the image is ${dims.width} × ${dims.height}; at most ${limits.maxSide} pixels a side are accepted`, 413);
  }
  return { format: sniffed, ...dims };
}

export interface StoredUpload extends CheckedUpload {
  id: string;
  path: string;
  bytes: number;
}

/** Checked uploads in a private temporary folder, named by random ids; removed on close(). */
export class UploadStore {
  private readonly dir = mkdtempSync(join(tmpdir(), 'robusta-uploads-'));
  private readonly items = new Map<string, StoredUpload>();

  constructor(readonly limits: UploadLimits = DEFAULT_UPLOAD_LIMITS, private readonly maxItems = 64) {}

  add(bytes: Uint8Array, contentType: string | undefined): StoredUpload {
    const checked = checkUpload(bytes, contentType, this.limits);
    const id = randomBytes(12).toString('hex');
    const path = join(this.dir, `${id}.${checked.format === 'png' ? 'png' : 'jpg'}`);
    writeFileSync(path, bytes, { mode: 0o600 });
    const item: StoredUpload = { ...checked, id, path, bytes: bytes.length };
    this.items.set(id, item);
    // Oldest first out: the map keeps insertion order.
    while (this.items.size > this.maxItems) {
      const [oldest] = this.items.keys();
      rmSync(this.items.get(oldest!)!.path, { force: true });
      this.items.delete(oldest!);
    }
    return item;
  }

  get(id: string): StoredUpload | undefined {
    return /^[0-9a-f]{24}$/.test(id) ? this.items.get(id) : undefined;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.items.clear();
  }
}
