/**
 * The workspace engine spec: what every `WorkspaceEngine` must do, run on each implementation
 * (ehrQL's `tests/spec` model). Today: the DuckDB sandbox. A distributed engine joins `engines`
 * and must pass the same tests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { openDuckDbSandbox } from '../duckdb-sandbox/sandbox.ts';
import type { SavedObject, StatementResult, WorkspaceEngine, WorkspaceSession } from '../workspace-port.ts';
import { DEPTS, EVENTS, PERSONS, event, makeExtract, person, type Fixture } from './fixture.ts';

const engines: ReadonlyArray<{ readonly name: string; readonly open: () => WorkspaceEngine }> = [
  { name: 'duckdb-sandbox', open: () => openDuckDbSandbox({ killGraceMs: 2000 }) },
];

function rows(r: StatementResult | SavedObject): StatementResult {
  if (r.kind !== 'rows') assert.fail('expected rows, got a saved object');
  return r;
}

async function all(ws: WorkspaceSession, sql: string): Promise<unknown[][]> {
  const r = rows(await ws.run(sql));
  const p = await ws.page(r.resultId, { offset: 0, limit: 10_000 });
  return p.rows.map((x) => [...x]);
}

async function rejectsWith(p: Promise<unknown>, code: string, detail?: [string, string]): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (detail !== undefined) assert.equal(e.details?.[detail[0]], detail[1], e.message);
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

for (const { name, open } of engines) {
  describe(`workspace engine spec: ${name}`, () => {
    let fx: Fixture;
    let engine: WorkspaceEngine;
    let ws: WorkspaceSession;
    before(async () => {
      fx = await makeExtract();
      engine = open();
      ws = await engine.open(fx.spec());
    });
    after(async () => {
      await engine.close();
      await fx.cleanup();
    });

    test('a join with an aggregate returns the same figures as the rows it was built from', async () => {
      const got = await all(ws, 'SELECT p.dept, count(*) AS n, sum(e.amount) AS total FROM events e JOIN persons p USING (person_id) GROUP BY p.dept ORDER BY p.dept');
      const expected = new Map<string, [number, number]>();
      for (let j = 0; j < EVENTS; j++) {
        const e = event(j);
        const d = person(e.person_id).dept;
        const [n, t] = expected.get(d) ?? [0, 0];
        expected.set(d, [n + 1, t + e.amount]);
      }
      assert.deepEqual(got, [...DEPTS].sort().map((d) => [d, String(expected.get(d)?.[0]), String(expected.get(d)?.[1])]));
    });

    test('window functions, CTEs, VALUES and FROM-first queries run', async () => {
      const firsts = await all(ws, `WITH ranked AS (SELECT person_id, event_date, row_number() OVER (PARTITION BY person_id ORDER BY event_date, drug) AS k FROM extract.events) SELECT count(*) FROM ranked WHERE k = 1`);
      const people = new Set(Array.from({ length: EVENTS }, (_, j) => event(j).person_id));
      assert.deepEqual(firsts, [[String(people.size)]]);
      assert.deepEqual(await all(ws, 'SELECT * FROM (VALUES (1, \'a\'), (2, \'b\')) v(x, y) ORDER BY x'), [[1, 'a'], [2, 'b']]);
      assert.deepEqual(await all(ws, 'FROM persons SELECT count(*)'), [[String(PERSONS)]]);
      assert.deepEqual(await all(ws, 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r'), [['55']]);
      const byYear = await all(ws, 'SELECT birth_year, count(*) FILTER (WHERE sex = 1) AS men FROM persons GROUP BY ALL HAVING birth_year = 1950');
      assert.deepEqual(byYear, [[1950, String(Array.from({ length: PERSONS }, (_, i) => person(i)).filter((p) => p.birth_year === 1950 && p.sex === 1).length)]]);
    });

    test('results are read by pages from the engine, in the query order', async () => {
      const r = rows(await ws.run('SELECT person_id, amount FROM events ORDER BY person_id, amount, event_date'));
      assert.equal(r.rowCount, EVENTS);
      assert.equal(r.truncated, false);
      assert.deepEqual(r.columns.map((c) => c.name), ['person_id', 'amount']);
      const seen: unknown[][] = [];
      for (let offset = 0; offset < r.rowCount; offset += 2500) {
        const p = await ws.page(r.resultId, { offset, limit: 2500 });
        assert.equal(p.rowCount, EVENTS);
        seen.push(...p.rows.map((x) => [...x]));
      }
      const expected = Array.from({ length: EVENTS }, (_, j) => event(j)).sort((a, b) => a.person_id - b.person_id || a.amount - b.amount || a.day - b.day).map((e) => [e.person_id, e.amount]);
      assert.deepEqual(seen, expected);
      assert.deepEqual((await ws.page(r.resultId, { offset: EVENTS, limit: 10 })).rows, []);
      await rejectsWith(ws.page(r.resultId, { offset: 0, limit: 10_001 }), 'invalid');
      await rejectsWith(ws.page(r.resultId, { offset: -1, limit: 1 }), 'invalid');
    });

    test('the result hash is the SHA-256 of the columns and rows exactly as pages serve them', async () => {
      const r = rows(await ws.run('SELECT person_id, dept, birth_year::BIGINT AS y, DATE \'2020-01-01\' + person_id AS d FROM persons ORDER BY person_id'));
      const h = createHash('sha256');
      h.update(`${JSON.stringify(r.columns)}\n`);
      for (let offset = 0; offset < r.rowCount; offset += 300) {
        for (const row of (await ws.page(r.resultId, { offset, limit: 300 })).rows) h.update(`${JSON.stringify(row)}\n`);
      }
      assert.equal(r.sha256, h.digest('hex'));
      const other = rows(await ws.run('SELECT person_id, dept, birth_year::BIGINT AS y, DATE \'2020-01-01\' + person_id AS d FROM persons ORDER BY person_id DESC'));
      assert.notEqual(other.sha256, r.sha256);
    });

    test('a discarded result is gone', async () => {
      const r = rows(await ws.run('SELECT 1'));
      await ws.discard(r.resultId);
      await rejectsWith(ws.page(r.resultId, { offset: 0, limit: 1 }), 'gone');
      await rejectsWith(ws.page('nonsense', { offset: 0, limit: 1 }), 'invalid');
    });

    test('only the latest results are kept; older ones answer gone', async () => {
      const first = rows(await ws.run('SELECT 1'));
      for (let i = 0; i < 16; i++) rows(await ws.run('SELECT 2'));
      await rejectsWith(ws.page(first.resultId, { offset: 0, limit: 1 }), 'gone');
    });

    test('the row cap keeps at most rowCap rows and says the result was truncated', async () => {
      const capped = await engine.open(fx.spec({ limits: { rowCap: 100 } }));
      try {
        const r = rows(await capped.run('SELECT * FROM events'));
        assert.equal(r.rowCount, 100);
        assert.equal(r.truncated, true);
        assert.equal((await capped.page(r.resultId, { offset: 0, limit: 500 })).rows.length, 100);
        assert.deepEqual((await capped.page(r.resultId, { offset: 100, limit: 5 })).rows, []);
        const exact = rows(await capped.run('SELECT * FROM range(100)'));
        assert.equal(exact.truncated, false);
      } finally {
        await capped.close();
      }
    });

    test('a statement over its timeout is interrupted, and the next statement runs', async () => {
      const quick = await engine.open(fx.spec({ limits: { statementTimeoutMs: 800 } }));
      try {
        const t = performance.now();
        await rejectsWith(quick.run('SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0'), 'invalid', ['limit', 'timeout']);
        assert.ok(performance.now() - t < 800 + 2000 + 1000, `stopped after ${Math.round(performance.now() - t)} ms`);
        assert.deepEqual(await all(quick, 'SELECT count(*) FROM persons'), [[String(PERSONS)]]);
        // A per-statement timeout may lower the session's, never raise it.
        await rejectsWith(quick.run('SELECT count(*) FROM range(1000000000000)', { timeoutMs: 200 }), 'invalid', ['limit', 'timeout']);
      } finally {
        await quick.close();
      }
    });

    test('cancel stops the running statement, and the session keeps working; progress is reported while it runs', async () => {
      assert.equal(await ws.progress(), undefined);
      const running = ws.run('SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0');
      await rejectsWith(ws.run('SELECT 1'), 'conflict');
      await new Promise((r) => setTimeout(r, 300));
      const p = await ws.progress();
      assert.ok(p !== undefined && p >= 0 && p <= 100, `progress ${String(p)}`);
      const t = performance.now();
      await ws.cancel();
      await rejectsWith(running, 'conflict', ['reason', 'cancelled']);
      assert.ok(performance.now() - t < 3000, `cancel took ${Math.round(performance.now() - t)} ms`);
      assert.deepEqual(await all(ws, 'SELECT 42'), [[42]]);
    });

    test('describe lists the extract tables and their columns', async () => {
      const d = await ws.describe();
      const persons = d.find((t) => t.schema === 'extract' && t.name === 'persons');
      assert.deepEqual(persons?.columns.map((c) => `${c.name}:${c.type}`), ['person_id:INTEGER', 'birth_year:INTEGER', 'sex:INTEGER', 'dept:VARCHAR']);
      assert.ok(d.some((t) => t.name === 'events'));
    });

    test('a saved table persists encrypted across sessions and can be dropped', async () => {
      const spec = fx.spec();
      const first = await engine.open(spec);
      try {
        const saved = await first.run(`SELECT person_id, 'canary-' || dept AS marker FROM persons WHERE birth_year = 1950`, { saveAs: { name: 'cohort', kind: 'table' } });
        assert.equal(saved.kind, 'saved');
        assert.ok(saved.kind === 'saved' && saved.rowCount === Array.from({ length: PERSONS }, (_, i) => person(i)).filter((p) => p.birth_year === 1950).length && (saved.bytes ?? 0) > 0);
        assert.deepEqual(await all(first, 'SELECT count(*) FROM scratch.cohort JOIN events USING (person_id)'), [[String(Array.from({ length: EVENTS }, (_, j) => event(j)).filter((e) => person(e.person_id).birth_year === 1950).length)]]);
        await first.run('SELECT person_id FROM cohort WHERE person_id < 500', { saveAs: { name: 'young_ids', kind: 'view' } });
        await rejectsWith(first.run('SELECT 1', { saveAs: { name: 'cohort', kind: 'table' } }), 'conflict');
        await rejectsWith(first.run('SELECT 1', { saveAs: { name: 'persons', kind: 'table' } }), 'conflict');
        await rejectsWith(first.run('SELECT 1', { saveAs: { name: 'Bad-Name', kind: 'table' } }), 'invalid');
      } finally {
        await first.close();
      }
      // At rest: Parquet Modular Encryption files ("PARE"), no plaintext of the rows, views' SQL encrypted.
      for (const f of await readdir(join(spec.scratch.dir, 'tables'))) {
        const bytes = await readFile(join(spec.scratch.dir, 'tables', f));
        assert.equal(bytes.subarray(0, 4).toString(), 'PARE');
        assert.equal(bytes.includes('canary-'), false);
      }
      assert.equal((await readFile(join(spec.scratch.dir, 'catalog.bin'))).includes('young_ids'), false);
      const second = await engine.open(spec);
      try {
        assert.deepEqual(await all(second, 'SELECT count(*) FROM young_ids'), [[String(Array.from({ length: PERSONS }, (_, i) => person(i)).filter((p) => p.birth_year === 1950 && p.person_id < 500).length)]]);
        const names = (await second.describe()).filter((t) => t.schema === 'scratch').map((t) => `${t.name}:${t.kind}`).sort();
        assert.deepEqual(names, ['cohort:table', 'young_ids:view']);
        await second.drop('young_ids');
        await second.drop('cohort');
        await rejectsWith(second.run('SELECT * FROM cohort'), 'forbidden', ['reason', 'table']);
        await rejectsWith(second.drop('cohort'), 'not_found');
        assert.deepEqual(await readdir(join(spec.scratch.dir, 'tables')), []);
      } finally {
        await second.close();
      }
    });

    test('a saved table over the scratch quota is refused and leaves nothing', async () => {
      const spec = fx.spec({ quotaBytes: 1000 });
      const small = await engine.open(spec);
      try {
        await rejectsWith(small.run('SELECT * FROM events', { saveAs: { name: 'big', kind: 'table' } }), 'payload_too_large');
        assert.deepEqual(await readdir(join(spec.scratch.dir, 'tables')), []);
        assert.ok((await small.describe()).every((t) => t.schema === 'extract'));
      } finally {
        await small.close();
      }
    });

    test('a closed session refuses further statements', async () => {
      const s = await engine.open(fx.spec());
      await s.close();
      await rejectsWith(s.run('SELECT 1'), 'gone');
    });

    test('a spec that would spill decrypted data, or is malformed, is refused with the fields named', async () => {
      const e = await rejectsWith(engine.open(fx.spec({ limits: { tempDiskBytes: 1024 } })), 'invalid');
      assert.match(e.message, /tempDiskBytes/);
      const bad = fx.spec();
      const e2 = await rejectsWith(engine.open({ ...bad, extract: [{ name: 'Bad Name', files: ['relative.parquet'], key: Buffer.alloc(3) }] }), 'invalid');
      assert.match(e2.message, /extract\[0\]\.name.*extract\[0\]\.files.*extract\[0\]\.key/);
    });

    test('a wrong key fails to open the workspace with a clear error', async () => {
      const s = fx.spec();
      const wrong = { ...s, extract: s.extract.map((t) => ({ ...t, key: Buffer.alloc(32, 7) })) };
      const e = await rejectsWith(engine.open(wrong), 'unavailable');
      assert.match(e.hint ?? '', /keys match/);
    });
  });
}
