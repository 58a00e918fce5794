// Errors of the data layer: every failure to read, fetch or verify a dataset is one of these,
// with a message that says what was expected and what to do.

/** A file is not in the format it claims (bad magic number, truncated, inconsistent sizes). */
export class DataFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataFormatError';
  }
}

/** A dataset archive could not be fetched (offline, server error, interrupted). */
export class DownloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

/** A downloaded archive does not have the published MD5 checksum (the bad file has been deleted). */
export class ChecksumError extends DownloadError {
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message);
    this.name = 'ChecksumError';
  }
}
