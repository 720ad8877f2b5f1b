/**
 * The workspace engine spec: what every `WorkspaceEngine` must do, run on each implementation
 * (ehrQL's `tests/spec` model): the DuckDB sandbox always, Trino where `ENCLAVE_TRINO_URL` and
 * `ENCLAVE_TRINO_RULES_FILE` name a running server (skipped with the reason printed otherwise).
 * The behaviour asserted is the same; the SQL is each engine's dialect (`Dialect`), and checks of
 * at-rest bytes are the DuckDB sandbox's (Trino's storage is encrypted by the store, not by it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { openDuckDbSandbox } from '../duckdb-sandbox/sandbox.ts';
import { openTrinoWorkspaceEngine } from '../trino/engine.ts';
import type { SavedObject, StatementResult, WorkspaceEngine, WorkspaceSession, WorkspaceSpec } from '../workspace-port.ts';
import { DEPTS, EVENTS, PERSONS, event, makeExtract, person, type Fixture } from './fixture.ts';
import { materialiseTrinoFixture, trinoReachable, trinoTarget } from './trino-fixture.ts';

/** The statements whose spelling differs between engines. */
interface Dialect {
  readonly firstRows: string;
  readonly fromFirstCount: string;
  readonly menBornIn1950: string;
  readonly typedRows: (order: 'ASC' | 'DESC') => string;
  readonly hundredRows: string;
  readonly endless: string;
  readonly cohortJoin: string;
  /** The short statement timeout of the timeout test: the engine's fixed cost per statement must fit well within it. */
  readonly quickTimeoutMs: number;
}

const duckdbDialect: Dialect = {
  firstRows: `WITH ranked AS (SELECT person_id, event_date, row_number() OVER (PARTITION BY person_id ORDER BY event_date, drug) AS k FROM extract.events) SELECT count(*) FROM ranked WHERE k = 1`,
  fromFirstCount: 'FROM persons SELECT count(*)',
  menBornIn1950: 'SELECT birth_year, count(*) FILTER (WHERE sex = 1) AS men FROM persons GROUP BY ALL HAVING birth_year = 1950',
  typedRows: (o) => `SELECT person_id, dept, birth_year::BIGINT AS y, DATE '2020-01-01' + person_id AS d FROM persons ORDER BY person_id ${o}`,
  hundredRows: 'SELECT * FROM range(100)',
  endless: 'SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range < 0',
  cohortJoin: 'SELECT count(*) FROM scratch.cohort JOIN events USING (person_id)',
  quickTimeoutMs: 800,
};

const trinoDialect: Dialect = {
  firstRows: `WITH ranked AS (SELECT person_id, event_date, row_number() OVER (PARTITION BY person_id ORDER BY event_date, drug) AS k FROM events) SELECT count(*) FROM ranked WHERE k = 1`,
  fromFirstCount: 'SELECT count(*) FROM persons',
  menBornIn1950: 'SELECT birth_year, count(*) FILTER (WHERE sex = 1) AS men FROM persons GROUP BY birth_year HAVING birth_year = 1950',
  typedRows: (o) => `SELECT person_id, dept, CAST(birth_year AS BIGINT) AS y, date_add('day', person_id, DATE '2020-01-01') AS d FROM persons ORDER BY person_id ${o}`,
  hundredRows: 'SELECT * FROM UNNEST(sequence(1, 100))',
  endless: 'SELECT count(*) FROM UNNEST(sequence(1, 10000)) a(x) CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 10000)) c(z) WHERE x + y + z < 0',
  cohortJoin: 'SELECT count(*) FROM cohort JOIN events USING (person_id)',
  // Each Trino statement is planned twice (the IO check, then the run) by a coordinator that
  // shares two cores with the rest of the suite: seconds, not milliseconds, under load.
  quickTimeoutMs: 4000,
};

interface EngineUnderTest {
  readonly name: string;
  /** Why this engine cannot run here, or undefined. */
  readonly unavailable: () => Promise<string | undefined>;
  readonly open: () => WorkspaceEngine;
  /** Builds the extract the engine reads (the DuckDB fixture's spec is the shape every engine takes). */
  readonly fixture: () => Promise<Fixture>;
  readonly sql: Dialect;
  /** Checks of the saved objects' bytes at rest, where the engine itself writes them. */
  readonly scratchAtRest?: {
    readonly savedEncrypted: (spec: WorkspaceSpec) => Promise<void>;
    readonly savedFiles: (spec: WorkspaceSpec) => Promise<string[]>;
  };
  /** A spec the engine cannot open, and the hint it must give. */
  readonly unopenable: (fx: Fixture) => { readonly spec: WorkspaceSpec; readonly hint: RegExp; readonly why: string };
}

const trino = trinoTarget(process.env);

const engines: readonly EngineUnderTest[] = [
  {
    name: 'duckdb-sandbox',
    unavailable: async () => undefined,
    open: () => openDuckDbSandbox({ killGraceMs: 2000 }),
    fixture: makeExtract,
    sql: duckdbDialect,
    scratchAtRest: {
      // At rest: Parquet Modular Encryption files ("PARE"), no plaintext of the rows, views' SQL encrypted.
      async savedEncrypted(spec) {
        for (const f of await readdir(join(spec.scratch.dir, 'tables'))) {
          const bytes = await readFile(join(spec.scratch.dir, 'tables', f));
          assert.equal(bytes.subarray(0, 4).toString(), 'PARE');
          assert.equal(bytes.includes('canary-'), false);
        }
        assert.equal((await readFile(join(spec.scratch.dir, 'catalog.bin'))).includes('young_ids'), false);
      },
      savedFiles: (spec) => readdir(join(spec.scratch.dir, 'tables')),
    },
    unopenable: (fx) => {
      const s = fx.spec();
      return { spec: { ...s, extract: s.extract.map((t) => ({ ...t, key: Buffer.alloc(32, 7) })) }, hint: /keys match/, why: 'a wrong key' };
    },
  },
  {
    name: 'trino',
    unavailable: async () => ('skip' in trino ? trino.skip : trinoReachable(trino)),
    open: () => {
      if ('skip' in trino) throw new Error(trino.skip);
      return openTrinoWorkspaceEngine({ url: trino.url, rulesFile: trino.rulesFile });
    },
    fixture: async () => {
      if ('skip' in trino) throw new Error(trino.skip);
      const fx = await makeExtract();
      await materialiseTrinoFixture(trino, 'test-project');
      // The DuckDB fixture's 2 s statement limit is a sandbox process's; a Trino statement is
      // planned twice by a shared coordinator, so ordinary statements get 30 s (tests that are
      // about limits set their own).
      return { ...fx, spec: (o = {}) => fx.spec({ ...o, limits: { statementTimeoutMs: 30_000, ...o.limits } }) };
    },
    sql: trinoDialect,
    unopenable: (fx) => ({ spec: fx.spec({ workspaceId: 'never-materialised' }), hint: /Trino extract builder/, why: 'an extract not materialised on Trino' }),
  },
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

for (const eut of engines) {
  const { name, open, sql } = eut;
  const why = await eut.unavailable();
  if (why !== undefined) {
    console.log(`workspace engine spec: ${name} skipped: ${why}`);
    test(`workspace engine spec: ${name}`, { skip: why }, () => undefined);
    continue;
  }
  describe(`workspace engine spec: ${name}`, () => {
    let fx: Fixture;
    let engine: WorkspaceEngine;
    let ws: WorkspaceSession;
    before(async () => {
      fx = await eut.fixture();
      engine = open();
      ws = await engine.open(fx.spec());
    });
    after(async () => {
      await engine?.close();
      await fx?.cleanup();
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
      const firsts = await all(ws, sql.firstRows);
      const people = new Set(Array.from({ length: EVENTS }, (_, j) => event(j).person_id));
      assert.deepEqual(firsts, [[String(people.size)]]);
      assert.deepEqual(await all(ws, 'SELECT * FROM (VALUES (1, \'a\'), (2, \'b\')) v(x, y) ORDER BY x'), [[1, 'a'], [2, 'b']]);
      assert.deepEqual(await all(ws, sql.fromFirstCount), [[String(PERSONS)]]);
      assert.deepEqual(await all(ws, 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r'), [['55']]);
      const byYear = await all(ws, sql.menBornIn1950);
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
      const r = rows(await ws.run(sql.typedRows('ASC')));
      const h = createHash('sha256');
      h.update(`${JSON.stringify(r.columns)}\n`);
      for (let offset = 0; offset < r.rowCount; offset += 300) {
        for (const row of (await ws.page(r.resultId, { offset, limit: 300 })).rows) h.update(`${JSON.stringify(row)}\n`);
      }
      assert.equal(r.sha256, h.digest('hex'));
      const other = rows(await ws.run(sql.typedRows('DESC')));
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
        const exact = rows(await capped.run(sql.hundredRows));
        assert.equal(exact.truncated, false);
      } finally {
        await capped.close();
      }
    });

    test('a statement over its timeout is interrupted, and the next statement runs', async () => {
      const quick = await engine.open(fx.spec({ limits: { statementTimeoutMs: sql.quickTimeoutMs } }));
      try {
        const t = performance.now();
        await rejectsWith(quick.run(sql.endless), 'invalid', ['limit', 'timeout']);
        assert.ok(performance.now() - t < sql.quickTimeoutMs + 2000 + 1000, `stopped after ${Math.round(performance.now() - t)} ms`);
        assert.deepEqual(await all(quick, 'SELECT count(*) FROM persons'), [[String(PERSONS)]]);
        // A per-statement timeout may lower the session's, never raise it.
        await rejectsWith(quick.run(sql.endless, { timeoutMs: 200 }), 'invalid', ['limit', 'timeout']);
      } finally {
        await quick.close();
      }
    });

    test('cancel stops the running statement, and the session keeps working; progress is reported while it runs', async () => {
      assert.equal(await ws.progress(), undefined);
      const running = ws.run(sql.endless);
      // Its refusal is awaited below, but it may settle while cancel() still waits for the engine:
      // observe it from the start so that it is never an unhandled rejection in between.
      const stopped = rejectsWith(running, 'conflict', ['reason', 'cancelled']);
      await rejectsWith(ws.run('SELECT 1'), 'conflict');
      await new Promise((r) => setTimeout(r, 300));
      const p = await ws.progress();
      assert.ok(p !== undefined && p >= 0 && p <= 100, `progress ${String(p)}`);
      const t = performance.now();
      await ws.cancel();
      await stopped;
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
        assert.deepEqual(await all(first, sql.cohortJoin), [[String(Array.from({ length: EVENTS }, (_, j) => event(j)).filter((e) => person(e.person_id).birth_year === 1950).length)]]);
        await first.run('SELECT person_id FROM cohort WHERE person_id < 500', { saveAs: { name: 'young_ids', kind: 'view' } });
        await rejectsWith(first.run('SELECT 1', { saveAs: { name: 'cohort', kind: 'table' } }), 'conflict');
        await rejectsWith(first.run('SELECT 1', { saveAs: { name: 'persons', kind: 'table' } }), 'conflict');
        await rejectsWith(first.run('SELECT 1', { saveAs: { name: 'Bad-Name', kind: 'table' } }), 'invalid');
      } finally {
        await first.close();
      }
      await eut.scratchAtRest?.savedEncrypted(spec);
      const second = await engine.open(spec);
      try {
        assert.deepEqual(await all(second, 'SELECT count(*) FROM young_ids'), [[String(Array.from({ length: PERSONS }, (_, i) => person(i)).filter((p) => p.birth_year === 1950 && p.person_id < 500).length)]]);
        const names = (await second.describe()).filter((t) => t.schema === 'scratch').map((t) => `${t.name}:${t.kind}`).sort();
        assert.deepEqual(names, ['cohort:table', 'young_ids:view']);
        await second.drop('young_ids');
        await second.drop('cohort');
        await rejectsWith(second.run('SELECT * FROM cohort'), 'forbidden', ['reason', 'table']);
        await rejectsWith(second.drop('cohort'), 'not_found');
        if (eut.scratchAtRest !== undefined) assert.deepEqual(await eut.scratchAtRest.savedFiles(spec), []);
      } finally {
        await second.close();
      }
    });

    test('a saved table over the scratch quota is refused and leaves nothing', async () => {
      const spec = fx.spec({ quotaBytes: 1000 });
      const small = await engine.open(spec);
      try {
        await rejectsWith(small.run('SELECT * FROM events', { saveAs: { name: 'big', kind: 'table' } }), 'payload_too_large');
        if (eut.scratchAtRest !== undefined) assert.deepEqual(await eut.scratchAtRest.savedFiles(spec), []);
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

    test('an extract the engine cannot read (wrong key, or not materialised there) fails to open the workspace with a clear error', async () => {
      const { spec, hint, why } = eut.unopenable(fx);
      const err = await rejectsWith(engine.open(spec), 'unavailable');
      assert.match(err.hint ?? '', hint, why);
    });
  });
}
