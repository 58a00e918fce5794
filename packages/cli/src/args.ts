// Small helpers over node:util parseArgs: numbers written like "2/255", required options, usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Input that exists in the command line's terms but cannot be used (a missing file): printed plainly, exit code 1. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export type Options = ParseArgsConfig['options'];

export function parse(argv: string[], options: NonNullable<Options>): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: false, strict: true });
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * `--eps -1` as `--eps=-1`: parseArgs would call the value ambiguous (it starts with a dash); a value
 * that reads as a number is taken as one, so that its range is checked with a proper message.
 */
function joinNegativeValues(argv: string[], options: NonNullable<Options>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name !== null && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** A number, a fraction ("2/255") or a product ("8/255*2"): what attack papers write; `min` bounds it. */
export function parseNumber(name: string, text: string | undefined, fallback?: number, range: { min?: number } = {}): number {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const m = /^\s*([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*(?:\/\s*(\d*\.?\d+(?:e[-+]?\d+)?))?\s*$/i.exec(text);
  const value = m ? Number(m[1]) / (m[2] !== undefined ? Number(m[2]) : 1) : NaN;
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number like 0.3 or 2/255, got '${text}'`);
  if (range.min !== undefined && value < range.min) throw new UsageError(`--${name} must be >= ${range.min}, got ${text.trim()}`);
  return value;
}

export function parseInteger(name: string, text: string | undefined, fallback?: number, min = 0): number {
  const v = parseNumber(name, text, fallback);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${text}'`);
  return v;
}

export function required(name: string, v: string | boolean | undefined): string {
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
