// robusta attacks: every attack robusta eval --attacks and robusta attack --method accept, with its
// parameters (torchattacks' names) and their defaults; robusta attacks NAME ... shows some of them.
import { parseArgs } from 'node:util';
import { attacks } from 'robusta';
import { UsageError } from '../args.js';

export const usage = `robusta attacks [NAME ...] [--json]
  Lists the attacks with their parameters and defaults (all of them, or the ones named).
  Use them as  robusta eval --attacks "pgd(steps=40,alpha=0.01),cw(c=1,steps=100)"  or
  robusta attack --method "mifgsm(decay=0.5)". Parameter names are torchattacks' (random_start,
  n_queries, ...); robusta's camelCase options are accepted too. Every attack also takes seed=N.
  --json   one JSON array: name, className, summary, threat model, targeted, parameters with defaults`;

export function runAttacks(argv: string[]): void {
  let values: { json?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let entries: readonly attacks.AttackEntry[] = attacks.ATTACKS;
  if (positionals.length > 0) {
    try {
      entries = positionals.map((n) => attacks.findAttack(n));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (values.json) {
    console.log(JSON.stringify(entries.map((e) => {
      const d = attacks.attackDefaults(e);
      return {
        name: e.name, className: e.className, summary: e.summary, threat: e.threat, targeted: e.targeted, aliases: e.aliases ?? [],
        params: e.params.map((q) => ({
          name: attacks.snakeCase(q.name), option: q.name, kind: q.kind, default: d[q.name] ?? null, doc: q.doc, ...(q.choices ? { choices: q.choices } : {}),
        })),
      };
    })));
    return;
  }
  const header = positionals.length > 0 ? '' : `${entries.length} attacks (name, class, parameters=default; every attack also takes seed=N):\n\n`;
  console.log(`${header}${attacks.formatAttackList(entries)}`);
}
