/**
 * The escape corpus on Trino (SECURITY-TESTS.md #11 and #9), against a real Trino server: the
 * shared corpus (`test/helpers/workspace-escapes.ts`, written for DuckDB: on Trino each must
 * still be refused) and Trino's own ways out: the `system` catalog, `information_schema`, other
 * projects' schemas, hidden tables and columns, session properties, procedures, DDL and DML,
 * `EXPLAIN ANALYZE`, prepared statements, connector table functions. Another project's workspace
 * is open at the same time, holding a canary. Skipped, with the reason printed, where no Trino
 * is configured (ENCLAVE_TRINO_URL, ENCLAVE_TRINO_RULES_FILE).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { hostileStatements } from '../../../test/helpers/workspace-escapes.ts';
import { trinoHostile } from '../../../test/helpers/trino-escapes.ts';
import { makeExtract, PERSONS, type Fixture } from '../spec/fixture.ts';
import { materialiseTrinoFixture, trinoReachable, trinoTarget, type TrinoTarget } from '../spec/trino-fixture.ts';
import type { StatementResult, WorkspaceEngine, WorkspaceSession } from '../workspace-port.ts';
import { TrinoClient, TrinoQueryError } from './client.ts';
import { openTrinoWorkspaceEngine, trinoIdent, workspaceSchema } from './engine.ts';
import { ADMIN_USER } from './rules.ts';

const CANARY = `CANARY-${randomBytes(6).toString('hex')}`;
const target = trinoTarget(process.env);
const why = 'skip' in target ? target.skip : await trinoReachable(target);


describe('Trino workspace escapes', { skip: why }, () => {
  let t: TrinoTarget;
  let fx: Fixture;
  let engine: WorkspaceEngine;
  let ws: WorkspaceSession;
  let neighbour: WorkspaceSession;
  const own = workspaceSchema('escape-project');
  const other = workspaceSchema('other-project');

  before(async () => {
    if ('skip' in target) return;
    t = target;
    fx = await makeExtract();
    await materialiseTrinoFixture(t, 'escape-project');
    await materialiseTrinoFixture(t, 'other-project');
    const admin = new TrinoClient({ url: t.url });
    await admin.query(`CREATE TABLE ${trinoIdent(other)}.canary AS SELECT '${CANARY}' AS name`, { user: ADMIN_USER, catalog: 'enclave' });
    await writeFile(join(fx.dir, 'secret.csv'), `name\n${CANARY}\n`);
    engine = openTrinoWorkspaceEngine({ url: t.url, rulesFile: t.rulesFile });
    ws = await engine.open(fx.spec({ workspaceId: 'escape-project', limits: { statementTimeoutMs: 30_000, rowCap: 10_000 } }));
    // The other project's workspace is open too: its grant is in the rules while the attacks run.
    neighbour = await engine.open({ ...fx.spec({ workspaceId: 'other-project', limits: { statementTimeoutMs: 30_000 } }), extract: [...fx.spec().extract, { name: 'canary', files: ['/canary.parquet'], key: fx.key }] });
  });
  after(async () => {
    await engine?.close();
    await fx?.cleanup();
  });

  test('SECURITY-TESTS #11 on Trino: every hostile statement is refused with a clear error, returns no row and leaks nothing', async () => {
    const corpus = [
      ...trinoHostile(own, other),
      ...hostileStatements({ dir: fx.dir, secret: join(fx.dir, 'secret.csv'), keyring: join(fx.dir, 'keyring.json'), other: join(fx.dir, 'other.parquet'), extractFile: join(fx.dir, 'persons.parquet') }),
    ];
    let reads = 0;
    let leaks = 0;
    const reasons = new Map<string, number>();
    for (const sql of corpus) {
      try {
        const r = await ws.run(sql);
        reads++;
        process.stdout.write(`RAN: ${sql} → ${JSON.stringify(r)}\n`);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        assert.ok(e.code === 'forbidden' || e.code === 'invalid', `${sql}: ${e.code} ${e.message}`);
        assert.ok(e.message.length > 10 && e.hint !== undefined, `${sql}: unclear error ${e.message}`);
        if (`${e.message} ${e.hint}`.includes(CANARY)) leaks++;
        const reason = String(e.details?.['reason'] ?? e.details?.['limit'] ?? e.code);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    for (const kind of ['view', 'table'] as const) {
      await assert.rejects(ws.run(`SELECT * FROM ${trinoIdent(other)}.canary`, { saveAs: { name: `evil_${kind}`, kind } }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
      await assert.rejects(ws.run('SELECT * FROM system.runtime.queries', { saveAs: { name: `evil2_${kind}`, kind } }), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    }
    assert.equal(reads, 0, 'statements ran');
    assert.equal(leaks, 0, 'the canary leaked through an error');
    const r = (await ws.run('SELECT count(*) FROM persons')) as StatementResult;
    assert.deepEqual((await ws.page(r.resultId, { offset: 0, limit: 1 })).rows, [[String(PERSONS)]]);
    assert.ok((await ws.describe()).every((x) => x.schema === 'extract'));
    process.stdout.write(`SECURITY-TESTS #11 on Trino: ${corpus.length + 4} hostile statements (${trinoHostile(own, other).length} Trino-specific, ${corpus.length - trinoHostile(own, other).length} of the shared corpus), ${corpus.length + 4} refused, 0 reads outside the workspace, 0 leaks through error messages (refusals by rule: ${[...reasons].map(([k, v]) => `${k} ${v}`).join(', ')})\n`);
  });

  test('a missing table answers the same whether or not another project has a workspace', async () => {
    const messages = new Set<string>();
    for (const schema of [other, workspaceSchema('no-such-project')]) {
      try {
        await ws.run(`SELECT * FROM enclave.${trinoIdent(schema)}.nothing_here`);
        assert.fail('ran');
      } catch (e) {
        assert.ok(e instanceof AppError && e.code === 'forbidden', String(e));
        messages.add(e.message);
      }
    }
    assert.equal(messages.size, 1, [...messages].join(' | '));
    await assert.rejects(ws.run('SELECT * FROM nothing_here'), (e: unknown) => e instanceof AppError && e.message.includes('nothing_here'));
  });

  test('benign queries that only look hostile run', async () => {
    const cases: Array<[string, unknown[][]]> = [
      [`SELECT 'system.runtime.nodes' AS s`, [['system.runtime.nodes']]],
      [`SELECT count(*) FROM persons -- ; DROP TABLE persons`, [[String(PERSONS)]]],
      [`SELECT 1 AS "system"`, [[1]]],
      [`WITH nodes AS (SELECT 1 AS x) SELECT x FROM nodes`, [[1]]],
      [`SELECT * FROM TABLE(sequence(start => 1, stop => 3))`, [['1'], ['2'], ['3']]],
      [`(SELECT count(*) FROM persons)`, [[String(PERSONS)]]],
    ];
    for (const [sql, expected] of cases) {
      const r = (await ws.run(sql)) as StatementResult;
      assert.deepEqual((await ws.page(r.resultId, { offset: 0, limit: 10 })).rows, expected, sql);
    }
  });

  test('SECURITY-TESTS #27 on Trino: resource bombs are each stopped within their limit while another workspace keeps answering', async () => {
    const bombs = [
      'SELECT count(*) FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 10000)) c(z)',
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r',
      `SELECT length(array_join(array_agg(x), ',')) FROM (SELECT lpad('', 100000, 'x') AS x FROM UNNEST(sequence(1, 10000)) a(i) CROSS JOIN UNNEST(sequence(1, 1000)) b(j))`,
      'SELECT * FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y)',
      'SELECT count(DISTINCT x * 100000 + y) FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y)',
      'SELECT count(*) FROM events a, events b, events c',
      `SELECT ${'('.repeat(5000)}1${')'.repeat(5000)}`,
    ];
    const limitMs = 4000;
    const bomber = await engine.open(fx.spec({ workspaceId: 'escape-project', limits: { statementTimeoutMs: limitMs, rowCap: 10_000, memoryBytes: 64 * 1024 * 1024 } }));
    let stop = false;
    let neighbourErrors = 0;
    const latencies: number[] = [];
    const loop = (async () => {
      while (!stop) {
        const t0 = performance.now();
        try {
          const r = (await neighbour.run('SELECT count(*) FROM canary')) as StatementResult;
          await neighbour.discard(r.resultId);
        } catch {
          neighbourErrors++;
        }
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const outcomes = new Map<string, number>();
    try {
      for (const sql of bombs) {
        const t0 = performance.now();
        let outcome: string;
        try {
          const r = await bomber.run(sql);
          assert.ok(r.kind === 'rows' && r.truncated && r.rowCount === 10_000, `${sql} ran to completion`);
          outcome = 'row_cap';
        } catch (e) {
          assert.ok(e instanceof AppError && e.code === 'invalid', `${sql}: ${String(e)}`);
          outcome = String(e.details?.['limit'] ?? e.details?.['trino'] ?? 'engine_limit');
        }
        const took = performance.now() - t0;
        assert.ok(took < limitMs + 5000, `${sql} took ${Math.round(took)} ms`);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    } finally {
      stop = true;
      await loop;
      await bomber.close();
    }
    assert.equal(neighbourErrors, 0);
    // Stopped means stopped on Trino too: none of the project's queries is left running there.
    let left = -1;
    for (let i = 0; i < 20 && left !== 0; i++) {
      const r = await new TrinoClient({ url: t.url }).query(`SELECT count(*) FROM system.runtime.queries WHERE "user" = '${own}' AND state NOT IN ('FINISHED', 'FAILED')`, { user: ADMIN_USER, catalog: 'system' });
      left = Number(r.rows[0]?.[0]);
      if (left !== 0) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(left, 0, 'queries of the project still running on Trino after their limit');
    const sorted = [...latencies].sort((a, b) => a - b);
    const p = (x: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? 0);
    process.stdout.write(`SECURITY-TESTS #27 on Trino: ${bombs.length} bombs, each stopped within its limit (${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}); neighbour workspace ${latencies.length} queries, 0 errors, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms\n`);
  });

  test('SECURITY-TESTS #9 on Trino: closing the workspace (revoked permit) stops its running statement and its Trino user reads nothing after the rules reload', async () => {
    const victim = await engine.open(fx.spec({ workspaceId: 'escape-project', limits: { statementTimeoutMs: 60_000 } }));
    const running = victim.run('SELECT count(*) FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 10000)) c(z) WHERE x + y + z < 0');
    const outcome = running.then(() => undefined, (e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    // The other session of the same project closes too: a revoked permit closes them all.
    const revokedAt = performance.now();
    await Promise.all([victim.close(), ws.close()]);
    const err = await outcome;
    assert.ok(err instanceof AppError && err.code === 'conflict', String(err));
    const stopped = performance.now() - revokedAt;
    // From the revocation on, the project's Trino user is tried directly (as a stolen session would).
    const direct = new TrinoClient({ url: t.url });
    let served = 0;
    let refusedAfter: number | undefined;
    while (performance.now() - revokedAt < 10_000) {
      try {
        await direct.query('SELECT count(*) FROM persons', { user: own, catalog: 'enclave', schema: own });
        served++;
      } catch (e) {
        assert.ok(e instanceof TrinoQueryError && e.error.errorName === 'PERMISSION_DENIED', String(e));
        refusedAfter = performance.now() - revokedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refusedAfter !== undefined, 'still served 10 s after revocation');
    // The neighbour project is untouched.
    const n = (await neighbour.run('SELECT count(*) FROM canary')) as StatementResult;
    assert.equal(n.rowCount, 1);
    process.stdout.write(`SECURITY-TESTS #9 on Trino: running statement stopped ${Math.round(stopped)} ms after revocation; the project's Trino user refused ${Math.round(refusedAfter)} ms after (rules reload), ${served} direct queries served in between (Trino reloads rules every second; the engine itself serves none after close)\n`);
  });
});

if (why !== undefined) console.log(`Trino workspace escapes skipped: ${why}`);
