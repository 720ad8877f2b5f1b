/**
 * Escape and resource-bomb corpus of the workspace sandbox (SECURITY-TESTS.md #11 and #27).
 * Every hostile statement must be refused with a clear error (or stopped by a limit), return no
 * row, and leak neither a file's content nor a path through its error message. Benign queries
 * that merely look hostile (the words in strings, comments, aliases, CTE names) must run: the
 * check reads DuckDB's parse tree, not the text.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { openDuckDb } from '../duckdb.ts';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import { hostileStatements } from '../../../test/helpers/workspace-escapes.ts';
import { makeExtract, PERSONS, type Fixture } from '../spec/fixture.ts';
import { openDuckDbSandbox } from './sandbox.ts';
import type { StatementResult, WorkspaceEngine, WorkspaceSession } from '../workspace-port.ts';

const CANARY = `CANARY-${randomBytes(6).toString('hex')}`;
let fx: Fixture;
let engine: WorkspaceEngine;
let ws: WorkspaceSession;
let secret: string;
let keyring: string;
let other: string;
let extractFile: string;

before(async () => {
  fx = await makeExtract();
  // What must stay out of reach: a plain file, a "keyring", another project's encrypted extract.
  secret = join(fx.dir, 'secret.csv');
  await writeFile(secret, `name\n${CANARY}\n`);
  keyring = join(fx.dir, 'keyring.json');
  await writeFile(keyring, JSON.stringify({ master: CANARY }));
  await mkdir(join(fx.dir, 'other-project'));
  other = join(fx.dir, 'other-project', 'persons.parquet');
  const duck = await openDuckDb({ threads: 1 });
  const s = await duck.session();
  await copyQueryToEncryptedParquet(s, `SELECT '${CANARY}' AS name`, other, fx.key);
  s.close();
  await duck.close();
  extractFile = join(fx.dir, 'persons.parquet');
  engine = openDuckDbSandbox({ killGraceMs: 2000 });
  ws = await engine.open(fx.spec({ limits: { statementTimeoutMs: 1500, memoryBytes: 128 * 1024 * 1024, rowCap: 10_000 } }));
});
after(async () => {
  await engine.close();
  await fx.cleanup();
});

function hostile(): string[] {
  return hostileStatements({ dir: fx.dir, secret, keyring, other, extractFile });
}

/** A leak is a file's content, or a path the member did not write themselves (their own text may be echoed). */
function assertNoLeak(text: string, sql: string): void {
  assert.equal(text.includes(CANARY), false, 'the canary leaked');
  for (const path of [fx.dir, extractFile, join(fx.dir, 'events-0.parquet'), join(fx.dir, 'scratch-1')]) {
    assert.ok(!text.includes(path) || sql.includes(path), `a path leaked: ${text}`);
  }
}

test('SECURITY-TESTS #11: every hostile statement is refused with a clear error, returns no row and leaks nothing', async () => {
  const corpus = hostile();
  assert.ok(corpus.length >= 60, `${corpus.length} statements`);
  let refused = 0;
  let reads = 0;
  let leaks = 0;
  const reasons = new Map<string, number>();
  for (const sql of corpus) {
    try {
      const r = await ws.run(sql);
      reads++;
      assert.fail(`ran: ${sql} → ${JSON.stringify(r)}`);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      assert.ok(e.code === 'forbidden' || e.code === 'invalid', `${sql}: ${e.code} ${e.message}`);
      assert.ok(e.message.length > 10 && e.hint !== undefined, `${sql}: unclear error`);
      try {
        assertNoLeak(`${e.message} ${e.hint}`, sql);
      } catch {
        process.stdout.write(`LEAK? ${sql} → ${e.message}\n`);
        leaks++;
      }
      refused++;
      const reason = String(e.details?.['reason'] ?? e.details?.['limit'] ?? e.code);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
  }
  // The same through "save as": a view body is checked like any query.
  for (const kind of ['view', 'table'] as const) {
    await assert.rejects(ws.run(`SELECT * FROM read_csv('${secret}')`, { saveAs: { name: `evil_${kind}`, kind } }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    refused++;
  }
  assert.equal(reads, 0);
  assert.equal(leaks, 0);
  // The workspace still answers, and saw no scratch object appear.
  const r = (await ws.run('SELECT count(*) FROM persons')) as StatementResult;
  assert.deepEqual((await ws.page(r.resultId, { offset: 0, limit: 1 })).rows, [[String(PERSONS)]]);
  assert.ok((await ws.describe()).every((t) => t.schema === 'extract'));
  const total = corpus.length + 2;
  process.stdout.write(`SECURITY-TESTS #11: ${total} hostile statements, ${refused} refused, 0 reads outside the extract, 0 leaks through error messages (refusals by rule: ${[...reasons].map(([k, v]) => `${k} ${v}`).join(', ')}); random and metamorphic queries against a permitted view: not yet (no permit scoping in this slice)\n`);
});

test('a statement over the size limit is refused before it reaches the engine', async () => {
  await assert.rejects(ws.run(`SELECT '${'x'.repeat(300 * 1024)}'`), (e: unknown) => e instanceof AppError && e.code === 'payload_too_large' && e.hint !== undefined);
});

test('a scratch table named like a system view shadows it: members read their own rows, never the settings', async () => {
  await ws.run(`SELECT 'mine' AS name`, { saveAs: { name: 'duckdb_settings', kind: 'table' } });
  try {
    const r = (await ws.run('SELECT * FROM duckdb_settings')) as StatementResult;
    assert.deepEqual((await ws.page(r.resultId, { offset: 0, limit: 10 })).rows, [['mine']]);
  } finally {
    await ws.drop('duckdb_settings');
  }
});

test('benign queries that only look hostile run: the check reads the parse tree, not the text', async () => {
  const cases: Array<[string, unknown[][]]> = [
    [`SELECT 'read_csv(''/etc/passwd'')' AS s`, [[`read_csv('/etc/passwd')`]]],
    [`SELECT count(*) FROM persons -- ; COPY persons TO 'x.csv'`, [[String(PERSONS)]]],
    [`SELECT 1 AS current_setting`, [[1]]],
    [`WITH duckdb_settings AS (SELECT 1 AS x) SELECT x FROM duckdb_settings`, [[1]]],
    [`SELECT count(*) FROM (SELECT * FROM extract.persons) AS read_csv`, [[String(PERSONS)]]],
    [`SELECT sum(x) FROM unnest([1, 2, 3]) t(x)`, [['6']]],
    [`SELECT count(*) FROM generate_series(1, 10)`, [['10']]],
    [`DESCRIBE SELECT dept FROM persons`, [['dept', 'VARCHAR', 'YES', null, null, null]]],
  ];
  for (const [sql, expected] of cases) {
    const r = (await ws.run(sql)) as StatementResult;
    assert.deepEqual((await ws.page(r.resultId, { offset: 0, limit: 10 })).rows, expected, sql);
  }
});

test('SECURITY-TESTS #27: resource bombs are each stopped within their limit while another workspace and the server keep answering', async () => {
  const bombs = [
    'SELECT count(*) FROM range(1000000000000)',
    'SELECT sum(generate_series) FROM generate_series(1, 1000000000000)',
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r',
    `WITH RECURSIVE r(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM r) SELECT max(length(s)) FROM r`,
    'SELECT count(*) FROM events a, events b, events c, events d',
    `SELECT length(repeat('x', 1000000000000))`,
    `SELECT length(string_agg(repeat('x', 100000), '')) FROM range(100000)`,
    'SELECT list(range) FROM range(10000000000)',
    'SELECT * FROM range(100000000) ORDER BY random()',
    'SELECT count(DISTINCT a.range * 1000000 + b.range) FROM range(100000) a, range(100000) b',
    'SELECT unnest(range(1000000000))',
    'SELECT * FROM range(1000000000)',
    'SELECT sum(length(repeat(dept, 100000000))) FROM persons',
    // Parser bombs: the parse itself must stay within bounds.
    `SELECT ${'('.repeat(100_000)}1${')'.repeat(100_000)}`,
    `SELECT ${Array(20_000).fill('1').join(' + ')}`,
  ];
  const limits = { statementTimeoutMs: 1500, killGraceMs: 2000 };
  const neighbour = await engine.open(fx.spec({ workspaceId: 'neighbour' }));
  const latencies: number[] = [];
  let neighbourErrors = 0;
  let stop = false;
  let maxLag = 0;
  let last = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 50);
    last = now;
  }, 50);
  const loop = (async () => {
    while (!stop) {
      const t = performance.now();
      try {
        const r = (await neighbour.run('SELECT dept, count(*) FROM persons GROUP BY dept')) as StatementResult;
        await neighbour.page(r.resultId, { offset: 0, limit: 10 });
        await neighbour.discard(r.resultId);
      } catch {
        neighbourErrors++;
      }
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const outcomes: string[] = [];
  try {
    for (const sql of bombs) {
      const t = performance.now();
      let outcome: string;
      try {
        const r = await ws.run(sql);
        assert.ok(r.kind === 'rows' && r.truncated && r.rowCount === 10_000, `${sql} ran to completion`);
        outcome = 'row_cap';
      } catch (e) {
        assert.ok(e instanceof AppError && e.code === 'invalid', `${sql}: ${String(e)}`);
        outcome = String(e.details?.['limit'] ?? (e.details?.['reason'] === 'syntax' ? 'parser_limit' : 'engine_limit'));
      }
      const took = performance.now() - t;
      // the limit is timeout + kill grace; 3 s of slack for scheduling on a loaded 2-core machine
      assert.ok(took < limits.statementTimeoutMs + limits.killGraceMs + 3000, `${sql} took ${Math.round(took)} ms`);
      outcomes.push(outcome);
    }
  } finally {
    stop = true;
    await loop;
    clearInterval(lag);
    await neighbour.close();
  }
  assert.equal(neighbourErrors, 0);
  assert.ok(latencies.length > 0);
  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (x: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? 0);
  const by = new Map<string, number>();
  for (const o of outcomes) by.set(o, (by.get(o) ?? 0) + 1);
  process.stdout.write(`SECURITY-TESTS #27: ${bombs.length} bombs, each stopped within its limit (${[...by].map(([k, v]) => `${k} ${v}`).join(', ')}); the server and other workspaces answered throughout: neighbour workspace ${latencies.length} queries, 0 errors, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; server event-loop lag max ${Math.round(maxLag)} ms\n`);
});
