/**
 * `npm test`: type-check, lint and dependency rules, then the whole suite on embedded PGlite and
 * again on PostgreSQL, ending with one line `N passed, N failed`.
 *
 *   npm test                      everything
 *   npm test -- --only=pglite     one metadata database (pglite | postgres)
 *   npm test -- --skip-check      skip tsc/eslint/depcruise
 *   npm test -- src/ingest        only the tests under a path
 *
 * A test that runs longer than 20 minutes fails (a hang must end in a count, not a stalled CI).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const skipCheck = args.includes('--skip-check');
const paths = args.filter((a) => !a.startsWith('--'));

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

let passed = 0;
let failed = 0;
if (!skipCheck) {
  const check = await run('npm', ['run', '--silent', 'check'], process.env, false);
  if (check.code !== 0) {
    process.stdout.write('\ncheck failed (type-check, lint or dependency rules)\n');
    failed++;
  } else passed++;
}

const roots = paths.length > 0 ? paths : ['src', 'test', 'bench'];
const files = roots.flatMap((r) => (statSync(r).isDirectory() ? findTests(r) : [r])).sort();
const dbs = only === undefined ? ['pglite', 'postgres'] : [only];
for (const db of dbs) {
  process.stdout.write(`\n=== test suite on ${db} (${files.length} files) ===\n`);
  const r = await run(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=1200000', '--test-reporter=spec', ...files], { ...process.env, ENCLAVE_TEST_DB: db }, true);
  // Strip ANSI colour codes before reading the runner's summary lines.
  const plain = r.out.replace(/\x1b\[[0-9;]*m/g, '');
  const p = Number(/ℹ pass (\d+)/.exec(plain)?.[1] ?? 0);
  const f = Number(/ℹ fail (\d+)/.exec(plain)?.[1] ?? 0) + Number(/ℹ cancelled (\d+)/.exec(plain)?.[1] ?? 0);
  passed += p;
  failed += f + (r.code !== 0 && f === 0 ? 1 : 0);
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
