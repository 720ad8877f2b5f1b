/**
 * `npm test`: type-check, lint and dependency rules, then the whole suite on embedded PGlite and
 * again on PostgreSQL, ending with one line `N passed, N failed`.
 *
 *   npm test                      everything (budget: under 25 minutes on a 2-core machine)
 *   npm test -- --only=pglite     one metadata database (pglite | postgres)
 *   npm test -- --skip-check      skip tsc/eslint/depcruise
 *   npm test -- src/ingest        only the tests under a path
 *   npm test -- --timeout=600     per-test limit in seconds (default 300)
 *   npm run test:scale            the scale tests at full size (3 GB migration round trip,
 *                                 100,000-person ingestion), PostgreSQL pass, 60-minute limit
 *
 * In `npm test` the scale tests run at a size that still takes every path (0.15 GB round trip
 * through a read cache smaller than the base, 10,000 people): ENCLAVE_TEST_SCALE=full, or
 * ENCLAVE_MIGRATE_ROUNDTRIP_GB / ENCLAVE_SCALE_PEOPLE, choose other sizes.
 *
 * When both passes run, the PostgreSQL pass takes only the files that reach the metadata
 * database (those importing test/helpers/db.ts, directly or through other helpers, or reading
 * ENCLAVE_TEST_DB); the others (hashing, parsing, Parquet, synthesis) run once, on the first pass.
 *
 * A test (or hook) that runs longer than its limit fails: a hang ends in a count, not a stalled
 * CI. The slowest tests are listed at the end, so that the budget is watched run after run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pgliteSeed } from '../src/db/pglite.ts';

const args = process.argv.slice(2);
const scale = args.includes('--scale');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? (scale ? 'postgres' : undefined);
const skipCheck = scale || args.includes('--skip-check');
const timeoutArg = args.find((a) => a.startsWith('--timeout='))?.slice('--timeout='.length);
/** Per-test limit: 5 minutes by default; the full-size scale runs take up to an hour. */
const timeoutSeconds = timeoutArg !== undefined ? Number(timeoutArg) : scale ? 3600 : 300;
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new Error(`--timeout must be a number of seconds, got ${JSON.stringify(timeoutArg)}`);
const paths = args.filter((a) => !a.startsWith('--'));
/** The tests whose size the scale switch sets. */
const SCALE_TESTS = ['test/scale', 'src/ingest/scale.test.ts'];

function findTests(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv, capture: boolean): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env, stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit' });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

const DB_HELPER = resolve('test/helpers/db.ts');
const dbMemo = new Map<string, boolean>();
/** Whether a test file reaches the metadata database: it imports test/helpers/db.ts (transitively) or reads ENCLAVE_TEST_DB. */
function usesDb(file: string, visiting = new Set<string>()): boolean {
  const f = resolve(file);
  if (f === DB_HELPER) return true;
  const known = dbMemo.get(f);
  if (known !== undefined) return known;
  if (visiting.has(f)) return false;
  visiting.add(f); // kept for the whole walk: each file is read once per test file
  let text: string;
  try {
    text = readFileSync(f, 'utf8');
  } catch {
    return false;
  }
  let uses = text.includes('ENCLAVE_TEST_DB');
  // Static and dynamic imports, and child scripts named by URL (crash children).
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) {
    if (uses) break;
    uses = usesDb(resolve(dirname(f), m[1] ?? ''), visiting);
  }
  // Only a yes is final: a no may come from a cycle cut short while visiting.
  if (uses) dbMemo.set(f, true);
  return uses;
}

/** Top-level tests and suites of the spec reporter's output (`✔ name (123.4ms)` at column 0). */
function topLevelDurations(plain: string): { name: string; ms: number }[] {
  const out: { name: string; ms: number }[] = [];
  for (const m of plain.matchAll(/^[✔✖] (.+) \(([\d.]+)ms\)$/gm)) out.push({ name: m[1] ?? '', ms: Number(m[2]) });
  return out;
}
const slowest: { name: string; ms: number; db: string }[] = [];
/** The runner's closing "failing tests" section (names and errors), kept to be repeated last. */
const failures: string[] = [];

const started = performance.now();
let passed = 0;
let failed = 0;
if (!skipCheck) {
  const check = await run('npm', ['run', '--silent', 'check'], process.env, false);
  if (check.code !== 0) {
    process.stdout.write('\ncheck failed (type-check, lint or dependency rules)\n');
    failed++;
  } else passed++;
}

// Work done once for the whole run instead of in every test process, kept in a private
// temporary folder removed at the end: one initdb, whose cluster seeds every new PGlite database
// (test/helpers/pglite-seed.ts, preloaded through NODE_OPTIONS), and Node's compile cache, so
// that each process (test files, the CLI spawned by tests) reuses the compiled sources.
const runDir = mkdtempSync(join(tmpdir(), 'enclave-test-run-'));
process.on('exit', () => rmSync(runDir, { recursive: true, force: true }));
const seedFile = join(runDir, 'pglite-seed.tar');
writeFileSync(seedFile, await pgliteSeed());
const preload = `--import=${pathToFileURL(resolve('test/helpers/pglite-seed.ts')).href}`;
const runEnv = {
  TEST_PGLITE_SEED: seedFile,
  NODE_OPTIONS: [process.env['NODE_OPTIONS'], preload].filter((o) => o !== undefined && o !== '').join(' '),
  NODE_COMPILE_CACHE: join(runDir, 'compile-cache'),
};

const roots = paths.length > 0 ? paths : scale ? SCALE_TESTS : ['src', 'test', 'bench'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? findTests(r) : [r])).sort();
const dbs = only === undefined ? ['pglite', 'postgres'] : [only];
for (const [i, db] of dbs.entries()) {
  // Files that never touch the metadata database gain nothing from a second pass.
  const pass = i === 0 ? files : files.filter((f) => usesDb(f));
  process.stdout.write(`\n=== test suite on ${db} (${pass.length} files${pass.length < files.length ? `; ${files.length - pass.length} without a metadata database ran on ${dbs[0] ?? ''} only` : ''}) ===\n`);
  const env = { ...process.env, ...runEnv, ENCLAVE_TEST_DB: db, ...(scale ? { ENCLAVE_TEST_SCALE: 'full' } : {}) };
  const r = await run(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${timeoutSeconds * 1000}`, '--test-reporter=spec', ...pass], env, true);
  // Strip ANSI colour codes before reading the runner's summary lines.
  const plain = r.out.replace(/\x1b\[[0-9;]*m/g, '');
  // (The runner repeats failures at the end: each name once.)
  const seen = new Set<string>();
  for (const t of topLevelDurations(plain)) {
    if (seen.has(t.name)) continue;
    seen.add(t.name);
    slowest.push({ ...t, db });
  }
  const failing = plain.lastIndexOf('\n✖ failing tests:');
  if (failing >= 0) failures.push(`on ${db}:${plain.slice(failing).split('\n').slice(0, 200).join('\n')}`);
  const p = Number(/ℹ pass (\d+)/.exec(plain)?.[1] ?? 0);
  const f = Number(/ℹ fail (\d+)/.exec(plain)?.[1] ?? 0) + Number(/ℹ cancelled (\d+)/.exec(plain)?.[1] ?? 0);
  passed += p;
  failed += f + (r.code !== 0 && f === 0 ? 1 : 0);
}
slowest.sort((a, b) => b.ms - a.ms);
process.stdout.write(`\nslowest top-level tests and suites (a single test or hook over ${timeoutSeconds} s fails):\n${slowest.slice(0, 8).map((t) => `  ${(t.ms / 1000).toFixed(0).padStart(5)} s  ${t.db}  ${t.name}`).join('\n')}\n`);
// A CI log is often read from its end: the failures' errors are repeated just above the count.
if (failures.length > 0) process.stdout.write(`\nwhat failed, with its errors (first 200 lines per pass):\n${failures.join('\n')}\n`);
process.stdout.write(`wall time ${((performance.now() - started) / 60_000).toFixed(1)} min\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
