// Attack specifications as text, the way a command line writes them:
//   pgd(steps=40, alpha=0.01), cw(c=1, steps=100), square(n_queries=5000), multiattack(fgsm, pgd(steps=10))
// A list of calls; each call is a name with optional arguments: key=value pairs or nested calls.
// Values stay text here (numbers like 8/255, booleans, names, tuples); registry.ts gives them types.

/** One argument: `key=value` (value text, a tuple, or a call) or a positional nested call. */
export interface SpecArgument {
  key: string | null;
  value: SpecValue;
}

export type SpecValue = { kind: 'text'; text: string } | { kind: 'tuple'; items: SpecValue[] } | { kind: 'call'; call: AttackSpec };

export interface AttackSpec {
  name: string;
  args: SpecArgument[];
  /** The text it was parsed from (for messages and display names). */
  source: string;
}

/** A malformed or unknown specification; the message says what is accepted. */
export class AttackSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttackSpecError';
  }
}

/** Parses "a(k=v, ...), b, c(...)" into calls. Whitespace is ignored outside quotes. */
export function parseAttackSpecs(text: string): AttackSpec[] {
  const p = new Parser(text);
  const out: AttackSpec[] = [];
  p.skipSpace();
  if (p.done()) throw new AttackSpecError('no attack given');
  for (;;) {
    out.push(p.call());
    p.skipSpace();
    if (p.done()) return out;
    p.expect(',');
  }
}

/** A specification back as text: name(key=value, ...). */
export function formatAttackSpec(spec: AttackSpec): string {
  if (spec.args.length === 0) return spec.name;
  return `${spec.name}(${spec.args.map((a) => (a.key === null ? '' : `${a.key}=`) + formatValue(a.value)).join(', ')})`;
}

function formatValue(v: SpecValue): string {
  if (v.kind === 'text') return v.text;
  if (v.kind === 'tuple') return `(${v.items.map(formatValue).join(', ')})`;
  return formatAttackSpec(v.call);
}

const NAME = /[A-Za-z_][A-Za-z0-9_+\-.]*/y;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  skipSpace(): void {
    while (!this.done() && /\s/.test(this.s[this.i]!)) this.i++;
  }

  expect(ch: string): void {
    this.skipSpace();
    if (this.s[this.i] !== ch) this.fail(`expected '${ch}'`);
    this.i++;
  }

  fail(what: string): never {
    const shown = this.s.length > 0 ? `${this.s.slice(0, this.i)}⟨here⟩${this.s.slice(this.i)}` : '(empty)';
    throw new AttackSpecError(`cannot read the attack list at position ${this.i + 1}: ${what} in "${shown}"`);
  }

  private name(): string {
    this.skipSpace();
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.s);
    if (!m) this.fail('expected an attack name');
    this.i += m[0].length;
    return m[0];
  }

  call(): AttackSpec {
    this.skipSpace();
    const start = this.i;
    const name = this.name();
    const args: SpecArgument[] = [];
    this.skipSpace();
    if (this.s[this.i] === '(') {
      this.i++;
      this.skipSpace();
      if (this.s[this.i] === ')') {
        this.i++;
      } else {
        for (;;) {
          args.push(this.argument());
          this.skipSpace();
          if (this.s[this.i] === ')') {
            this.i++;
            break;
          }
          if (this.s[this.i] !== ',') this.fail("expected ',' or ')'");
          this.i++;
        }
      }
    }
    return { name, args, source: this.s.slice(start, this.i).trim() };
  }

  private argument(): SpecArgument {
    this.skipSpace();
    // key=value, or a positional nested call (name or name(...)).
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.s);
    if (m) {
      const after = this.i + m[0].length;
      let j = after;
      while (j < this.s.length && /\s/.test(this.s[j]!)) j++;
      if (this.s[j] === '=') {
        this.i = j + 1;
        return { key: m[0], value: this.value() };
      }
      if (this.s[j] === '(' || this.s[j] === ',' || this.s[j] === ')') return { key: null, value: { kind: 'call', call: this.call() } };
    }
    this.fail('expected key=value or a nested attack');
  }

  private value(): SpecValue {
    this.skipSpace();
    const c = this.s[this.i];
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      this.i++;
      const items: SpecValue[] = [];
      this.skipSpace();
      if (this.s[this.i] === close) {
        this.i++;
        return { kind: 'tuple', items };
      }
      for (;;) {
        items.push(this.value());
        this.skipSpace();
        if (this.s[this.i] === close) {
          this.i++;
          return { kind: 'tuple', items };
        }
        this.expect(',');
      }
    }
    if (c === '"' || c === "'") {
      const end = this.s.indexOf(c, this.i + 1);
      if (end < 0) this.fail('unterminated quote');
      const text = this.s.slice(this.i + 1, end);
      this.i = end + 1;
      return { kind: 'text', text };
    }
    // A nested call as a value (attacks=[...] is a tuple of them).
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.s);
    if (m && this.s[this.i + m[0].length] === '(') return { kind: 'call', call: this.call() };
    const start = this.i;
    while (!this.done() && !',()[]'.includes(this.s[this.i]!)) this.i++;
    const text = this.s.slice(start, this.i).trim();
    if (text === '') this.fail('expected a value');
    return { kind: 'text', text };
  }
}
