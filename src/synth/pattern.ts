/**
 * Values for the catalogue's patterned columns: a sampler for the regular expressions Table
 * Schema constraints use (anchors, literals, `\d`, character classes with ranges, groups with
 * alternatives, `?` `*` `+` `{n}` `{n,m}`). Every value is checked against the pattern itself; a
 * pattern outside that subset gives no sampler (the column stays blank rather than invalid).
 *
 * @example
 *   const draw = patternSampler('^([0-9]{2}|2A|2B)[0-9]{7}$');
 *   draw?.(rng); // '2B0412345'
 */
import type { Rng } from './prng.ts';

type Node =
  | { readonly kind: 'chars'; readonly chars: string }
  | { readonly kind: 'alt'; readonly options: readonly Node[][] }
  | { readonly kind: 'repeat'; readonly node: Node; readonly min: number; readonly max: number };

/** Repetitions drawn for an open quantifier (`*`, `+`, `{n,}`). */
const OPEN_EXTRA = 3;

class Parser {
  private i = 0;
  private readonly s: string;
  constructor(s: string) {
    this.s = s;
  }

  parse(): Node[][] {
    const alts = this.alternatives();
    if (this.i !== this.s.length) throw new Error(`unexpected ${this.s[this.i] ?? ''}`);
    return alts;
  }

  private alternatives(): Node[][] {
    const out: Node[][] = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      out.push(this.sequence());
    }
    return out;
  }

  private sequence(): Node[] {
    const seq: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const c = this.s[this.i] as string;
      if (c === '^' || c === '$') {
        this.i++;
        continue;
      }
      seq.push(this.quantified(this.atom()));
    }
    return seq;
  }

  private atom(): Node {
    const c = this.s[this.i++] as string;
    if (c === '(') {
      if (this.s.startsWith('?:', this.i)) this.i += 2;
      else if (this.s[this.i] === '?') throw new Error('lookaround');
      const options = this.alternatives();
      if (this.s[this.i++] !== ')') throw new Error('unclosed group');
      return { kind: 'alt', options };
    }
    if (c === '[') return { kind: 'chars', chars: this.charClass() };
    if (c === '\\') return { kind: 'chars', chars: this.escape() };
    if (c === '.') return { kind: 'chars', chars: DIGITS + UPPER };
    if ('*+?{'.includes(c)) throw new Error('quantifier without atom');
    return { kind: 'chars', chars: c };
  }

  private escape(): string {
    const e = this.s[this.i++] as string;
    if (e === 'd') return DIGITS;
    if (e === 'w') return DIGITS + UPPER + LOWER + '_';
    if (/[DWsSbB]/.test(e)) throw new Error(`\\${e}`);
    return e;
  }

  private charClass(): string {
    if (this.s[this.i] === '^') throw new Error('negated class');
    let chars = '';
    while (this.i < this.s.length && this.s[this.i] !== ']') {
      const c = this.s[this.i++] as string;
      if (c === '\\') {
        chars += this.escape();
        continue;
      }
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== undefined && this.s[this.i + 1] !== ']') {
        const to = this.s[this.i + 1] as string;
        this.i += 2;
        for (let k = c.charCodeAt(0); k <= to.charCodeAt(0); k++) chars += String.fromCharCode(k);
        continue;
      }
      chars += c;
    }
    if (this.s[this.i++] !== ']') throw new Error('unclosed class');
    if (chars === '') throw new Error('empty class');
    return chars;
  }

  private quantified(node: Node): Node {
    const q = this.s[this.i];
    if (q === '?') return this.lazy({ kind: 'repeat', node, min: 0, max: 1 });
    if (q === '*') return this.lazy({ kind: 'repeat', node, min: 0, max: OPEN_EXTRA });
    if (q === '+') return this.lazy({ kind: 'repeat', node, min: 1, max: 1 + OPEN_EXTRA });
    if (q === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
      if (m === null) return node;
      this.i += m[0].length - 1;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? min + OPEN_EXTRA : Number(m[3]);
      return this.lazy({ kind: 'repeat', node, min, max });
    }
    return node;
  }

  private lazy(n: Node): Node {
    this.i++;
    if (this.s[this.i] === '?') this.i++;
    return n;
  }
}

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

function emit(seq: readonly Node[], rng: Rng): string {
  let out = '';
  for (const n of seq) {
    switch (n.kind) {
      case 'chars':
        out += n.chars[rng.int(0, n.chars.length - 1)] ?? '';
        break;
      case 'alt':
        out += emit(rng.pick(n.options) ?? [], rng);
        break;
      case 'repeat': {
        const k = rng.int(n.min, n.max);
        for (let r = 0; r < k; r++) out += emit([n.node], rng);
        break;
      }
    }
  }
  return out;
}

/** A drawer of values matching `pattern`, or undefined when the pattern is outside the subset above. */
export function patternSampler(pattern: string): ((rng: Rng) => string) | undefined {
  let tree: Node[][];
  let re: RegExp;
  try {
    re = new RegExp(pattern);
    tree = new Parser(pattern).parse();
  } catch {
    return undefined;
  }
  return (rng) => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const v = emit(rng.pick(tree) ?? [], rng);
      if (re.test(v)) return v;
    }
    return '';
  };
}
