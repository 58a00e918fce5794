// Small helpers over node:util parseArgs: numbers written like "2/255", required options, usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Options = ParseArgsConfig['options'];

export function parse(argv: string[], options: NonNullable<Options>): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true });
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A number, a fraction ("2/255") or a product ("8/255*2"): what attack papers write. */
export function parseNumber(name: string, text: string | undefined, fallback?: number): number {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const m = /^\s*([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*(?:\/\s*(\d*\.?\d+(?:e[-+]?\d+)?))?\s*$/i.exec(text);
  const value = m ? Number(m[1]) / (m[2] !== undefined ? Number(m[2]) : 1) : NaN;
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number like 0.3 or 2/255, got '${text}'`);
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
