// Every chart spec is checked against Vega-Lite's own JSON schema (vega-lite/build/vega-lite-schema.json,
// the schema of the installed version) with ajv before it is rendered, so a wrong spec fails loudly with
// the place to look instead of rendering a silently wrong picture.
//
// The schema is a large anyOf tree (unit, layer, facet, concat, ... specs; field, datum and value
// definitions), so one mistake produces dozens of ajv errors, most from branches the author never meant.
// The error that names the mistake is the deepest one: we keep the errors at the deepest instance path,
// count how many branches agree on each, and report the most agreed ones with the line of that path in
// the spec pretty-printed as JSON.stringify(spec, null, 2).
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TopLevelSpec } from 'vega-lite';
import { pointerSegment, prettyJson } from './json-lines.js';

export class SpecValidationError extends Error {
  constructor(
    message: string,
    /** The problems reported, deepest first: pointer, 1-based line in the pretty-printed spec, message. */
    readonly problems: { pointer: string; line: number; message: string }[],
    /** The spec as pretty-printed JSON (the lines the problems refer to). */
    readonly specText: string,
  ) {
    super(message);
    this.name = 'SpecValidationError';
  }
}

let validator: ValidateFunction | undefined;

/** ajv compiled once per process (≈2 s: the schema is 1.9 MB). */
function vegaLiteValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = createRequire(import.meta.url)('vega-lite/vega-lite-schema.json') as object;
  const ajv = new Ajv({
    allErrors: true,
    // The schema uses Vega-Lite's own annotation keywords; strict mode would reject them.
    strict: false,
    formats: { 'color-hex': /^#(?:[0-9a-fA-F]{3}){1,2}$/, uri: true, 'uri-reference': true },
  });
  validator = ajv.compile(schema);
  return validator;
}

const BRANCH_KEYWORDS = new Set(['anyOf', 'oneOf', 'if', 'not']);
const depth = (pointer: string): number => (pointer === '' ? 0 : pointer.split('/').length - 1);

/** The path an error is about: an unexpected property is about that property, not its parent. */
function errorPointer(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') {
    return `${e.instancePath}/${pointerSegment(String((e.params as { additionalProperty: string }).additionalProperty))}`;
  }
  return e.instancePath;
}

interface ErrorGroup {
  pointer: string;
  errors: ErrorObject[];
}

/** One sentence for all branches' complaints about one place: allowed types and values merged. */
function groupMessage(g: ErrorGroup): string {
  const allowed = new Set<string>();
  const types = new Set<string>();
  for (const e of g.errors) {
    const p = e.params as { allowedValues?: unknown[]; allowedValue?: unknown; type?: string | string[] };
    if (e.keyword === 'enum') for (const v of p.allowedValues ?? []) allowed.add(JSON.stringify(v));
    if (e.keyword === 'const') allowed.add(JSON.stringify(p.allowedValue));
    if (e.keyword === 'type') for (const t of [p.type ?? []].flat()) types.add(t);
  }
  const parts: string[] = [];
  if (types.size) parts.push(`must be ${[...types].join(' or ')}`);
  if (allowed.size) parts.push(`must be equal to one of the allowed values: ${[...allowed].join(', ')}`);
  if (parts.length) return parts.join(', or ');
  const e = g.errors[0];
  return e.keyword === 'additionalProperties' ? 'must NOT be here (no such property)' : (e.message ?? e.keyword);
}

/**
 * The spec, normalised by a JSON round trip (what is rendered), when it satisfies the Vega-Lite schema;
 * otherwise a SpecValidationError like
 * 'invalid Vega-Lite spec "scatter-x": spec line 14 (/encoding/x/type): must be equal to one of the allowed values: ...'.
 */
export function validateSpec(spec: TopLevelSpec, name = 'spec', maxProblems = 3): TopLevelSpec {
  const pretty = prettyJson(spec);
  const validate = vegaLiteValidator();
  if (validate(pretty.value)) return pretty.value as TopLevelSpec;

  const all = validate.errors ?? [];
  const leaves = all.filter((e) => !BRANCH_KEYWORDS.has(e.keyword));
  const errors = leaves.length > 0 ? leaves : all;
  const deepest = Math.max(...errors.map((e) => depth(e.instancePath)));
  const groups = new Map<string, ErrorGroup>();
  for (const e of errors) {
    if (depth(e.instancePath) !== deepest) continue;
    const pointer = errorPointer(e);
    const g = groups.get(pointer) ?? { pointer, errors: [] };
    g.errors.push(e);
    groups.set(pointer, g);
  }
  // Most branches agreeing first; a wrong value (enum, type, ...) before "missing"/"extra" property noise.
  const noise = (g: ErrorGroup): number => (g.errors.every((e) => e.keyword === 'required' || e.keyword === 'additionalProperties') ? 1 : 0);
  const ranked = [...groups.values()].sort((a, b) => b.errors.length - a.errors.length || noise(a) - noise(b));
  const problems = ranked.slice(0, maxProblems).map((g) => {
    // An unexpected property's own line when it has one, else the nearest enclosing path's line.
    let p = g.pointer;
    while (!pretty.lineOf.has(p) && p !== '') p = p.slice(0, p.lastIndexOf('/'));
    return { pointer: g.pointer, line: pretty.lineOf.get(p) ?? 1, message: groupMessage(g) };
  });
  const detail = problems.map((p) => `spec line ${p.line} (${p.pointer || '/'}): ${p.message}`).join('; ');
  throw new SpecValidationError(`invalid Vega-Lite spec "${name}": ${detail}`, problems, pretty.text);
}
