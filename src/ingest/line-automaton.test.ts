import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sqlString } from '../engine/index.ts';
import { withDuckSession } from '../../test/helpers/duckdb.ts';
import { compileLineShapes, lineTag, LineScanner, LineShapeError, MAX_TABLE, parseShape, scanFile, type LineAutomaton } from './line-automaton.ts';
import { lineCounts, type TypedReading } from './typed-reading.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function mkTemp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'enclave-line-automaton-'));
  dirs.push(d);
  return d;
}

/** A one-thread DuckDB session for the duration of `fn`. */
const withSession = withDuckSession;

/** A seeded generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters the random shapes and lines are made of: ASCII, the delimiter and quote, Latin-1, three- and four-byte UTF-8. */
const ALPHABET = ['a', 'b', 'Z', '0', '1', '9', '-', '.', '/', ';', '"', ' ', '_', 'é', 'ÿ', '€', '中', '😀'];

/** A random shape of the subset the compiler reads, and a sampler of strings it matches. */
function randomShape(rnd: () => number, depth = 0): { re: string; sample: () => string } {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const esc = (ch: string): string => `\\x{${(ch.codePointAt(0) as number).toString(16)}}`;
  const kind = depth >= 3 ? pick(['lit', 'class', 'neg', 'digit']) : pick(['lit', 'class', 'neg', 'digit', 'cat', 'cat', 'alt', 'rep', 'rep', 'group']);
  switch (kind) {
    case 'lit': {
      const ch = pick(ALPHABET);
      return { re: /[A-Za-z0-9]/.test(ch) ? ch : esc(ch), sample: () => ch };
    }
    case 'digit':
      return { re: pick(['\\d', '[0-9]']), sample: () => String(Math.floor(rnd() * 10)) };
    case 'class': {
      const a = pick(['a', '0', 'A', 'é']);
      const span = Math.floor(rnd() * 5);
      const hi = String.fromCodePoint((a.codePointAt(0) as number) + span);
      const extra = pick(ALPHABET);
      return { re: `[${a}-${hi}${esc(extra)}]`, sample: () => (rnd() < 0.2 ? extra : String.fromCodePoint((a.codePointAt(0) as number) + Math.floor(rnd() * (span + 1)))) };
    }
    case 'neg': {
      const out = [pick(ALPHABET), pick(ALPHABET)];
      const allowed = ALPHABET.filter((c) => !out.includes(c));
      return { re: `[^${out.map(esc).join('')}]`, sample: () => pick(allowed) };
    }
    case 'cat': {
      const xs = [randomShape(rnd, depth + 1), randomShape(rnd, depth + 1), randomShape(rnd, depth + 1)];
      return { re: xs.map((x) => x.re).join(''), sample: () => xs.map((x) => x.sample()).join('') };
    }
    case 'alt': {
      const xs = [randomShape(rnd, depth + 1), randomShape(rnd, depth + 1)];
      return { re: `(?:${xs.map((x) => x.re).join('|')})`, sample: () => pick(xs).sample() };
    }
    case 'group': {
      const x = randomShape(rnd, depth + 1);
      return { re: `(${x.re})`, sample: x.sample };
    }
    default: {
      const x = randomShape(rnd, depth + 1);
      const [q, min, max] = pick([['?', 0, 1], ['*', 0, 3], ['+', 1, 3], ['{2}', 2, 2], ['{1,3}', 1, 3], ['{0,2}', 0, 2], ['{2,}', 2, 4]] as const);
      return { re: `(?:${x.re})${q}`, sample: () => Array.from({ length: min + Math.floor(rnd() * (max - min + 1)) }, () => x.sample()).join('') };
    }
  }
}

/** A line near `s`: a character dropped, doubled, replaced or inserted. */
function mutate(rnd: () => number, s: string): string {
  const cs = [...s];
  const k = Math.floor(rnd() * (cs.length + 1));
  const ch = ALPHABET[Math.floor(rnd() * ALPHABET.length)] as string;
  switch (Math.floor(rnd() * 4)) {
    case 0: cs.splice(k, 1); break;
    case 1: cs.splice(k, 0, cs[k] ?? ch); break;
    case 2: cs.splice(k, 1, ch); break;
    default: cs.splice(k, 0, ch);
  }
  return cs.join('');
}

test('the line automaton answers as RE2 on 300 random shapes, on lines they match and lines near them, line by line and as files read in chunks by both loops', async () => {
  await withSession(async (s) => {
    const rnd = random(20261207);
    let compared = 0;
    let matched = 0;
    for (let k = 0; k < 300; k++) {
      const weak = randomShape(rnd);
      const strong = randomShape(rnd);
      const lines = new Set<string>();
      for (let j = 0; j < 30; j++) {
        const w = weak.sample();
        lines.add(w);
        lines.add(mutate(rnd, w));
        lines.add(strong.sample());
        lines.add(mutate(rnd, mutate(rnd, strong.sample())));
      }
      lines.delete('');
      let a: LineAutomaton;
      try {
        a = compileLineShapes(weak.re, strong.re, 'utf-8', false);
      } catch (e) {
        // Only a shape that matches the empty line is refused here; RE2 must agree it does.
        assert.ok(e instanceof LineShapeError && /empty line/.test(e.message), `${weak.re} | ${strong.re}: ${String(e)}`);
        const [row] = await s.all<{ w: boolean; s: boolean }>(`SELECT regexp_full_match('', ${sqlString(weak.re)}) AS w, regexp_full_match('', ${sqlString(strong.re)}) AS s`);
        assert.ok(row?.w === true || row?.s === true, `${weak.re} | ${strong.re} does not match the empty line`);
        continue;
      }
      const list = [...lines];
      const rows = await s.all<{ l: string; k: number }>(`SELECT l, CASE WHEN regexp_full_match(l, ${sqlString(strong.re)}) THEN 2 WHEN regexp_full_match(l, ${sqlString(weak.re)}) THEN 1 ELSE 0 END AS k
        FROM unnest([${list.map(sqlString).join(', ')}]::VARCHAR[]) t(l)`);
      assert.equal(rows.length, list.length);
      for (const r of rows) {
        assert.equal(lineTag(a, Buffer.from(r.l, 'utf8')), r.k, `weak ${weak.re}, strong ${strong.re}, line ${JSON.stringify(r.l)}`);
        compared++;
        if (r.k > 0) matched++;
      }
      // The same lines as a file, fed in chunks cut anywhere: the WebAssembly and the JavaScript
      // loops count what RE2 answered line by line.
      const file = Buffer.from(`H\n${rows.map((r) => r.l).join('\n')}\n`, 'utf8');
      const want = { n: rows.length, ok: rows.filter((r) => r.k > 0).length, proven: rows.filter((r) => r.k === 2).length };
      for (const wasm of [true, false]) {
        const scanner = new LineScanner(a, undefined, { wasm });
        for (let at = 0; at < file.length;) {
          const size = 1 + Math.floor(rnd() * 64);
          scanner.push(file.subarray(at, at + size));
          at += size;
        }
        assert.deepEqual(scanner.finish(), want, `${wasm ? 'WebAssembly' : 'JavaScript'} loop, weak ${weak.re}, strong ${strong.re}`);
      }
    }
    // Both answers are exercised, not only refusals.
    assert.ok(compared > 15_000 && matched > compared / 4, `${compared} lines, ${matched} matched`);
  });
});

test('every code point range of a class is compiled to exactly its UTF-8 encodings, and Latin-1 to its bytes', () => {
  const rnd = random(7);
  const points = [0x7e, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x3ffff, 0x40000, 0x10fffe, 0x10ffff];
  for (let k = 0; k < 200; k++) {
    const lo = k < 40 ? (points[k % points.length] as number) : Math.floor(rnd() * 0x110000);
    const hi = Math.min(0x10ffff, lo + Math.floor(rnd() * (rnd() < 0.5 ? 300 : 0x30000)));
    const a = compileLineShapes(`x[\\x{${lo.toString(16)}}-\\x{${hi.toString(16)}}]`, undefined, 'utf-8', false);
    for (const cp of [lo - 1, lo, lo + 1, Math.floor((lo + hi) / 2), hi - 1, hi, hi + 1, 0xd800, 0xdfff]) {
      if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) continue;
      const inside = cp >= lo && cp <= hi && cp !== 0x0a && cp !== 0x0d && cp > 0x01;
      assert.equal(lineTag(a, Buffer.from(`x${String.fromCodePoint(cp)}`, 'utf8')), inside ? 1 : 0, `[${lo.toString(16)}-${hi.toString(16)}] at ${cp.toString(16)}`);
    }
  }
  // Invalid UTF-8 is no character: overlong forms, surrogates, stray continuation bytes, truncations.
  const any = compileLineShapes('x[^\\x{3b}]*', undefined, 'utf-8', false);
  for (const bad of [[0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xbf], [0xe2, 0x82], [0xff]]) {
    assert.equal(lineTag(any, Uint8Array.from([0x78, ...bad])), 0, bad.map((b) => b.toString(16)).join(' '));
  }
  assert.equal(lineTag(any, Buffer.from('x€😀é', 'utf8')), 1);
  // Latin-1: one byte a character, none above U+00FF.
  const latin = compileLineShapes('x[^\\x{3b}]*\\x{e9}', undefined, 'latin-1', false);
  assert.equal(lineTag(latin, Uint8Array.from([0x78, 0xff, 0xa0, 0xe9])), 1);
  assert.equal(lineTag(latin, Uint8Array.from([0x78, 0x80, 0xe9])), 0, 'DuckDB refuses the C1 controls as Latin-1');
  assert.equal(lineTag(latin, Uint8Array.from([0x78, 0xc3, 0xa9])), 0, 'UTF-8 é is two Latin-1 characters');
  const euro = compileLineShapes('x|\\x{20ac}', undefined, 'latin-1', false);
  assert.deepEqual([lineTag(euro, Uint8Array.from([0x78])), lineTag(euro, Uint8Array.from([0xe2, 0x82, 0xac])), lineTag(euro, Uint8Array.from([0x80]))], [1, 0, 0], 'a character Latin-1 cannot spell matches nothing');
});

test('shapes outside the subset, and too large an automaton, are refused with a LineShapeError (the scan then goes through DuckDB)', () => {
  for (const re of ['a.b', '^a', 'a$', '\\w+', '(?i)a', '(?P<n>a)', '[[:alpha:]]', 'a**', 'a{1001}', 'a{3,2}', '(a', 'a)', '[a', '\\', '[]a]', 'a{,2}x']) {
    assert.throws(() => parseShape(re.endsWith('x') ? re : `${re}`), LineShapeError, re);
  }
  // Nothing of the shapes Enclave writes is refused.
  for (const re of ['(?:-?[0-9]{1,18})?\\x{3b}[^\\x{3b}\\x{22}]*', '(?:(19|20)[0-9]{2}(0[1-9]|1[0-2]))', '[0-9A-Z]{17}', 'a+?b']) parseShape(re);
  // The classic exponential shape (the 16th character from the end is an `a`: 2^16 states), with
  // every other printable character its own byte class: more than MAX_TABLE entries.
  const classes = Array.from({ length: 45 }, (_, k) => `\\x{${(0x21 + 2 * k).toString(16)}}`).join('|');
  const huge = `(?:${classes})?(?:a|b)*a(?:a|b){15}`;
  assert.throws(() => compileLineShapes(huge, undefined, 'utf-8', false), (e: unknown) => e instanceof LineShapeError && /too large/.test(e.message), `MAX_TABLE ${MAX_TABLE}`);
});

/** A typed reading of these shapes (the only fields `lineCounts` reads). */
function shapes(weak: string): TypedReading {
  return { types: new Map(), lineRegex: weak, decimalComma: false, missing: [], proven: new Set() };
}

test('whole files: the automaton counts as the DuckDB scan does, and refuses where that scan fails or may read lines otherwise', async () => {
  await withSession(async (s) => {
    const dir = await mkTemp();
    const weak = shapes('(?:-?[0-9]{1,18})?\\x{3b}[^\\x{3b}\\x{22}]*');
    const strong = shapes('(?:1|2)\\x{3b}[^\\x{3b}\\x{22}]*');
    let k = 0;
    const both = async (name: string, bytes: Uint8Array | string, encoding = 'utf-8', limit?: number): Promise<{ auto: unknown; duck: unknown }> => {
      const path = join(dir, `${k++}-${name}.csv`);
      await writeFile(path, bytes);
      const auto = await lineCounts(s, path, weak, encoding, limit, strong, 'automaton');
      const duck = await lineCounts(s, path, weak, encoding, limit, strong, 'duckdb');
      return { auto, duck };
    };
    // Files both read alike: counts equal.
    const same: Array<[string, Uint8Array | string, string?, number?]> = [
      ['lf', 'N;T\n1;a\n2;b\n3;c\n-4;d\n;e\nx;f\n'],
      ['no final line end', 'N;T\n1;a\n2;b\n3;c'],
      ['crlf', 'N;T\r\n1;a\r\n2;b\r\n7;c\r\n'],
      ['crlf, no final line end', 'N;T\r\n1;a\r\n2;b'],
      ['bom', '\ufeffN;T\n1;a\n'],
      ['utf-8 text', 'N;T\n1;é€😀\n22;中文\n'],
      ['quote', 'N;T\n1;"a"\n1;a\n'],
      ['fields', 'N;T\n1;a;b\n1\n1;a\n'],
      ['header only', 'N;T\n'],
      ['latin-1', Buffer.from('N;T\n1;caf\xe9\n2;\xff\xa0\n', 'latin1'), 'latin-1'],
      ['limit', `N;T\n${Array.from({ length: 100 }, (_, j) => `${j % 3};x\n`).join('')}`, 'utf-8', 10],
      ['long (a worker thread)', `N;T\n${Array.from({ length: 800_000 }, (_, j) => `${j % 5};${'x'.repeat(j % 40)}\n`).join('')}`],
    ];
    for (const [name, bytes, enc, limit] of same) {
      const { auto, duck } = await both(name, bytes, enc, limit);
      assert.deepEqual(auto, duck, name);
    }
    // Files the DuckDB scan fails on (invalid UTF-8, a line with its own delimiter 0x01): the
    // automaton refuses a line there too, so the file goes the careful way either way.
    for (const [name, bytes, enc] of [['invalid utf-8', Buffer.from([...Buffer.from('N;T\n1;a\n2;'), 0xc3, 0x28, 0x0a])], ['0x01', 'N;T\n1;a\x01b\n'], ['latin-1 C1 control', Buffer.from('N;T\n1;caf\xe9\n2;\x80\n', 'latin1'), 'latin-1']] as const) {
      const { auto, duck } = await both(name, bytes, enc);
      const a = auto as { n: number; ok: number };
      assert.ok(duck === undefined || (duck as { ok: number; n: number }).ok < (duck as { n: number }).n, `${name}: DuckDB ${JSON.stringify(duck)}`);
      assert.ok(a.ok < a.n, `${name}: automaton ${JSON.stringify(auto)}`);
    }
    // Where DuckDB's reader may cut or skip lines its own way (a NUL, a lone carriage return, an
    // empty line), the automaton refuses the line: stricter, never laxer.
    for (const [name, bytes, enc] of [['nul', 'N;T\n1;a\x00b\n2;c\n'], ['lone cr', 'N;T\n1;a\rb\n2;c\n'], ['empty line', 'N;T\n1;a\n\n2;c\n'], ['crlf line in lf file', 'N;T\n1;a\r\n2;c\n'], ['lf line in crlf file', 'N;T\r\n1;a\n2;c\r\n'],
      ['header of invalid utf-8', Buffer.from([0x4e, 0xc3, 0x28, ...Buffer.from(';T\n1;a\n')])], ['header with a C1 control', Buffer.from('N\x85;T\n1;a\n', 'latin1'), 'latin-1'],
      ['header with a nul', 'N\x00;T\n1;a\n']] as const) {
      const { auto } = await both(name, bytes, enc);
      const a = auto as { n: number; ok: number };
      assert.ok(a.ok < a.n, `${name}: automaton ${JSON.stringify(auto)}`);
    }
    // A first look reads its lines only; a file whose header has no line end in its first 64 kB goes to DuckDB.
    const path = join(dir, 'look.csv');
    await writeFile(path, `N;T\n${'1;a\n'.repeat(50)}x;y\n`);
    const compiled = compileLineShapes(weak.lineRegex, strong.lineRegex, 'utf-8', false);
    assert.deepEqual(await scanFile(path, compiled, 50), { n: 50, ok: 50, proven: 50 });
    assert.deepEqual(await scanFile(path, compiled), { n: 51, ok: 50, proven: 50 });
    const wide = join(dir, 'wide.csv');
    await writeFile(wide, `${'N'.repeat(70_000)}\n1;a\n`);
    await assert.rejects(lineCounts(s, wide, weak, 'utf-8', undefined, strong, 'automaton'), LineShapeError);
  });
});
