// The one error type of the checkpoint readers and writers: every malformed, truncated or unsupported
// input ends here, with a code a caller can branch on and the path of the file when there is one.

export type CheckpointErrorCode =
  | 'not-found' // the file does not exist
  | 'io' // the file exists but cannot be read or written
  | 'bad-magic' // not a format we know (zip, legacy torch pickle, safetensors)
  | 'truncated' // the data ends before a structure it declares
  | 'corrupt' // inconsistent structure: bad signature, bad lengths, bad JSON, checksum mismatch
  | 'out-of-bounds' // an offset or length points outside its buffer
  | 'unknown-global' // the pickle names a Python global outside the allow-list
  | 'unsupported' // a valid file using a feature robusta does not read (encryption, complex dtypes, TorchScript ...)
  | 'no-state-dict' // loadStateDict found no mapping of tensors
  | 'internal'; // a bug in robusta: an unexpected error while reading, wrapped so callers still get a CheckpointError

export interface CheckpointErrorOptions {
  code: CheckpointErrorCode;
  path?: string;
  cause?: unknown;
}

/** A checkpoint that cannot be read (or written): corrupt, truncated, unsupported, missing. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  /** The file concerned, when the input came from a path. */
  path: string | undefined;

  constructor(message: string, options: CheckpointErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CheckpointError';
    this.code = options.code;
    this.path = options.path;
  }
}

/** Shorthand for the many "this structure is broken" throws. */
export function corrupt(message: string, code: CheckpointErrorCode = 'corrupt'): CheckpointError {
  return new CheckpointError(message, { code });
}

/**
 * Runs a reader and makes sure whatever escapes is a CheckpointError that names the file: errors from
 * libtorch (a tensor that cannot be built) and unexpected bugs are wrapped, keeping the original as cause.
 */
export function withCheckpointErrors<T>(path: string | undefined, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asCheckpointError(err, path, what);
  }
}

export function asCheckpointError(err: unknown, path: string | undefined, what: string): CheckpointError {
  const where = path === undefined ? what : `${what} ${path}`;
  if (err instanceof CheckpointError) {
    if (err.path === undefined && path !== undefined) {
      err.path = path;
      err.message = `${where}: ${err.message}`;
    }
    return err;
  }
  const name = err instanceof Error ? err.name : typeof err;
  const detail = err instanceof Error ? err.message : String(err);
  // libtorch refusing a tensor built from file data means the file is inconsistent, not that robusta is broken.
  const code: CheckpointErrorCode = name === 'TorchError' ? 'corrupt' : 'internal';
  return new CheckpointError(`${where}: ${code === 'internal' ? 'unexpected ' : ''}${name}: ${detail}`, { code, path, cause: err });
}
