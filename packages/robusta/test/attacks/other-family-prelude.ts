// The Python prelude of the other-family tests: reference.py, then python/other_family.py (both stay
// in the source tree; compiled tests live in dist/test/attacks).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referencePrelude } from './helpers.js';

export function otherFamilyPrelude(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'python', 'other_family.py'), join(here, '..', '..', '..', 'test', 'attacks', 'python', 'other_family.py')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`python/other_family.py not found near ${here}`);
  return `${referencePrelude()}exec(compile(open(${JSON.stringify(path)}).read(), ${JSON.stringify(path)}, 'exec'))\n`;
}
