// Errors of the nn package: what went wrong when loading a state dict, listed key by key.

export interface SizeMismatch {
  key: string;
  /** The shape in the checkpoint. */
  checkpoint: number[];
  /** The shape in the module. */
  model: number[];
}

const quote = (keys: readonly string[]): string => keys.map((k) => `"${k}"`).join(', ');
const shape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * A state dict that does not fit a module: keys the module needs but the dict lacks (strict mode),
 * keys the module does not have (strict mode), and tensors whose shape differs (always an error).
 * The message lists them the way PyTorch's load_state_dict does.
 */
export class StateDictError extends Error {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
  readonly sizeMismatches: SizeMismatch[];

  constructor(moduleName: string, missingKeys: string[], unexpectedKeys: string[], sizeMismatches: SizeMismatch[]) {
    const lines = [`Error(s) in loading state_dict for ${moduleName}:`];
    if (missingKeys.length > 0) lines.push(`\tMissing key(s) in state_dict: ${quote(missingKeys)}.`);
    if (unexpectedKeys.length > 0) lines.push(`\tUnexpected key(s) in state_dict: ${quote(unexpectedKeys)}.`);
    for (const m of sizeMismatches) {
      lines.push(`\tsize mismatch for ${m.key}: copying a param with shape ${shape(m.checkpoint)} from checkpoint, ` +
        `the shape in current model is ${shape(m.model)}.`);
    }
    super(lines.join('\n'));
    this.name = 'StateDictError';
    this.missingKeys = missingKeys;
    this.unexpectedKeys = unexpectedKeys;
    this.sizeMismatches = sizeMismatches;
  }
}
