/**
 * A clean clone with nothing beside it must pass `npm test` (issue 11, item 9): no source, test,
 * bench or script names a path outside the repository. Reference facts the tests need live in
 * `test/vectors/` with their licences; anything optional that lives elsewhere comes from a path
 * the operator gives and skips with a message when absent.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCANNED = ['src', 'test', 'bench', 'scripts', 'bin', '.ci', 'package.json', 'README.md', '.env.example', 'docs'];
/** Data copied from other projects: checked for absolute paths only (it may hold `../` in attack strings). */
const DATA = join('test', 'vectors');
const TEXT = /\.(ts|js|cjs|mjs|json|md|sh|sql|yml|yaml)$|^run$/;

// Spelled in pieces so that this file does not match itself.
const FORBIDDEN: { what: string; re: RegExp }[] = [
  { what: 'an absolute path of the build machine', re: new RegExp(['/wo', 'rk/'].join('')) },
  { what: 'the reference folder beside the repository', re: new RegExp(['shared', '/reference'].join('')) },
];

function files(p: string, out: string[] = []): string[] {
  const abs = join(ROOT, p);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return out;
  }
  if (st.isDirectory()) {
    for (const e of readdirSync(abs)) if (e !== 'node_modules' && e !== 'out') files(join(p, e), out);
  } else if (TEXT.test(p.split(sep).at(-1) ?? '')) out.push(p);
  return out;
}

/** Quoted relative paths (`'../x'`) that, read from the file's own folder, land outside the repository. */
function escapingLiterals(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(['"`])((?:\.\.\/)+[^'"`\s$]*)\1/g)) {
    const target = resolve(dirname(join(ROOT, file)), m[2] ?? '');
    const rel = relative(ROOT, target);
    if (rel.startsWith('..')) out.push(m[2] ?? '');
  }
  return out;
}

test('no source, test, bench, script or doc names a path outside the repository', () => {
  const all = SCANNED.flatMap((p) => files(p));
  assert.ok(all.length > 300, `scanned ${all.length} files`);
  const found: string[] = [];
  for (const f of all) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const isData = f.startsWith(DATA + sep);
    for (const { what, re } of FORBIDDEN) {
      if (isData && what !== FORBIDDEN[0]?.what) continue;
      const lines = text.split('\n');
      lines.forEach((l, i) => {
        if (re.test(l)) found.push(`${f}:${i + 1}: ${what}: ${l.trim().slice(0, 120)}`);
      });
    }
    if (!isData && /\.(ts|js|cjs|mjs)$/.test(f)) for (const lit of escapingLiterals(f, text)) found.push(`${f}: '${lit}' resolves outside the repository`);
  }
  console.log(`self-contained: ${all.length} files scanned, ${found.length} paths outside the repository`);
  assert.deepEqual(found, [], 'keep the facts a test needs in test/vectors/ (with their licence notice); optional material outside the repo comes from a path the operator gives');
});

test('the scan finds a path outside the repository when one is written', () => {
  // Guards the guard: each pattern and the relative-path resolution still match what they must.
  const abs = ['/wo', 'rk/shared/x.json'].join('');
  assert.ok(FORBIDDEN.some(({ re }) => re.test(`const p = '${abs}';`)));
  const outside = `${'../'.repeat(3)}elsewhere/v.json`;
  assert.deepEqual(escapingLiterals(join('src', 'audit', 'x.ts'), `new URL('${outside}', import.meta.url)`), [outside]);
  assert.deepEqual(escapingLiterals(join('src', 'audit', 'x.ts'), "import { id } from '../keys/index.ts';"), []);
});

test('every folder of test/vectors names its origin and carries its licence', () => {
  const root = join(ROOT, DATA);
  const sets: string[] = [];
  const walk = (rel: string): void => {
    const names = readdirSync(join(root, rel));
    if (names.includes('NOTICE.md')) {
      sets.push(rel);
      assert.ok(names.some((n) => /^(LICENSE|COPYING)/.test(n)), `${join(DATA, rel)} has a NOTICE.md but no LICENSE or COPYING file`);
      return;
    }
    const dirs = names.filter((n) => statSync(join(root, rel, n)).isDirectory());
    assert.ok(dirs.length > 0 || rel === '', `${join(DATA, rel)} holds data with no NOTICE.md naming its origin and licence`);
    for (const d of dirs) walk(join(rel, d));
  };
  walk('');
  assert.deepEqual(sets.sort(), ['identity', 'injection/libinjection', 'merkle', 'nir', 'rekor', 'schema-snds', 'signed-note']);
});
