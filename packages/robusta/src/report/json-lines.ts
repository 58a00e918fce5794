// JSON pretty-printed exactly as JSON.stringify(value, null, 2), with the line on which each JSON
// pointer (RFC 6901, as ajv writes instancePath) starts, so a schema error can name the line to look at.

export interface PrettyJson {
  /** The normalised value (a JSON round trip: undefined members dropped, NaN → null, toJSON applied). */
  value: unknown;
  text: string;
  /** JSON pointer ('' for the root, '/encoding/x/type') → 1-based line. */
  lineOf: Map<string, number>;
}

/** '~' → '~0', '/' → '~1' (RFC 6901). */
export function pointerSegment(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function prettyJson(input: unknown): PrettyJson {
  const text0 = JSON.stringify(input);
  if (text0 === undefined) throw new TypeError('value has no JSON form');
  const value: unknown = JSON.parse(text0);
  const lines: string[] = [];
  const lineOf = new Map<string, number>();

  const emit = (v: unknown, pointer: string, indent: string, prefix: string, comma: string): void => {
    lineOf.set(pointer, lines.length + 1);
    if (Array.isArray(v)) {
      if (v.length === 0) { lines.push(`${indent}${prefix}[]${comma}`); return; }
      lines.push(`${indent}${prefix}[`);
      v.forEach((item, i) => emit(item, `${pointer}/${i}`, indent + '  ', '', i < v.length - 1 ? ',' : ''));
      lines.push(`${indent}]${comma}`);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 0) { lines.push(`${indent}${prefix}{}${comma}`); return; }
      lines.push(`${indent}${prefix}{`);
      keys.forEach((k, i) => emit((v as Record<string, unknown>)[k], `${pointer}/${pointerSegment(k)}`, indent + '  ',
        `${JSON.stringify(k)}: `, i < keys.length - 1 ? ',' : ''));
      lines.push(`${indent}}${comma}`);
    } else {
      lines.push(`${indent}${prefix}${JSON.stringify(v)}${comma}`);
    }
  };
  emit(value, '', '', '', '');
  return { value, text: lines.join('\n'), lineOf };
}
