/**
 * The PostgreSQL endpoint with real clients (Debian's psql, node-postgres, Python psycopg2) on
 * the real components: governance, identity and audit on PGlite/PostgreSQL, a real encrypted
 * extract, the DuckDB sandbox in its own process. The same rules as the browser: a project token
 * as the password (SCRAM-SHA-256), the permit at connect, at every statement and every few
 * seconds, the escape corpus refused, every statement audited.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { makeEscapeTargets, openWorkspaceFixture, type EscapeSetup, type WorkspaceFixture } from '../../test/helpers/workspace.ts';
import { hostileStatements } from '../../test/helpers/workspace-escapes.ts';
import { createHttpApp } from '../http/app.ts';
import { sessionCookieName, type AuthDeps } from '../http/auth.ts';
import { workspaceRoutes } from '../http/routes/workspace.ts';
import { startPgwire, type PgwireServer } from './index.ts';

const run = promisify(execFile);
const PSQL = '/usr/bin/psql';
const PYTHON = '/usr/bin/python3';
const COHORT = `SELECT p.dept, p.sex, count(DISTINCT e.person_id) AS persons, sum(e.amount) AS units, min(e.event_date) AS first_event
FROM persons p JOIN events e USING (person_id)
WHERE p.birth_year BETWEEN 1940 AND 1960 AND e.drug = 'D1'
GROUP BY p.dept, p.sex ORDER BY p.dept, p.sex`;

describe('PostgreSQL endpoint', () => {
  let w: WorkspaceFixture;
  let server: PgwireServer;
  let project: string;
  let other: string;
  let webOnly: string;
  let token: string;
  let otherToken: string;
  let webOnlyToken: string;
  let targets: EscapeSetup;

  /** An active project whose permit allows the database protocol, the member named in it. */
  const activeProject = async (tools: ReadonlyArray<'web_sql' | 'database_protocol'>): Promise<string> => {
    const { gov, who } = w.f;
    const p = await gov.createProject(who.applicant, w.f.application());
    await gov.addMember(who.applicant, p.id, who.member.personId, 'member');
    await gov.take(who.applicant, p.id, 'submit');
    await gov.take(who.committee1, p.id, 'accept_complete');
    await gov.take(who.ethics, p.id, 'ethics_favourable');
    await gov.take(who.legal, p.id, 'legal_approve');
    await gov.proposePermit(who.committee1, p.id, await w.f.permitFor(p.id, { tools: [...tools] }));
    await gov.take(who.committee1, p.id, 'committee_approve');
    await gov.take(who.committee2, p.id, 'committee_approve');
    w.extracts.ready.add(p.id);
    return p.id;
  };
  const tokenFor = async (projectId: string): Promise<string> => (await w.f.identity.createApiToken(w.f.who.member, projectId, { days: 30 })).token;

  before(async () => {
    w = await openWorkspaceFixture();
    project = await activeProject(['web_sql', 'database_protocol']);
    other = await activeProject(['web_sql', 'database_protocol']);
    webOnly = await activeProject(['web_sql']);
    token = await tokenFor(project);
    otherToken = await tokenFor(other);
    webOnlyToken = await tokenFor(webOnly);
    targets = await makeEscapeTargets(w.ex);
    server = await startPgwire({
      host: '127.0.0.1', port: 0, workspace: w.ws, identity: w.f.identity, audit: w.f.audit,
      onProjectChange: (l) => w.f.gov.onProjectChange(l), recheckMs: 500,
    });
  });
  after(async () => {
    await server.close();
    await w.close();
  });

  const client = async (o: { database?: string; password?: string; user?: string } = {}): Promise<pg.Client> => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, database: o.database ?? project, user: o.user ?? 'member', password: o.password ?? token, ssl: false });
    await c.connect();
    return c;
  };
  const psql = async (args: string[], password = token, database = project): Promise<{ code: number; out: string; err: string }> => {
    try {
      const r = await run(PSQL, ['-X', '-v', 'ON_ERROR_STOP=1', `host=127.0.0.1 port=${server.port} dbname=${database} user=member sslmode=disable connect_timeout=10`, ...args], { env: { ...process.env, PGPASSWORD: password, PGAPPNAME: 'psql-test' }, timeout: 60_000 });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? '' };
    }
  };
  /** The cohort query as the HTTP API answers it (POST /queries, then its rows). */
  const httpCohort = async (): Promise<unknown[][]> => {
    const auth: AuthDeps = {
      cookieName: sessionCookieName(false),
      resolveSession: (v) => w.f.identity.resolveSession(v),
      resolveApiToken: (t) => w.f.identity.resolveApiToken(t),
      denied: async () => undefined,
    };
    const app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'projects', app: workspaceRoutes(w.ws, auth) }] });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const q = await (await app.request(`/api/v1/projects/${project}/queries`, { method: 'POST', headers, body: JSON.stringify({ sql: COHORT, waitMs: 60_000 }) })).json() as { id: string; status: string };
    assert.equal(q.status, 'succeeded');
    const page = await (await app.request(`/api/v1/projects/${project}/queries/${q.id}/rows?limit=1000`, { headers })).json() as { rows: unknown[][] };
    return page.rows;
  };

  test('psql connects with a project token, lists the extract\'s tables, describes one and runs the cohort query with the HTTP API\'s results', async () => {
    const dt = await psql(['-c', '\\dt']);
    assert.equal(dt.code, 0, dt.err);
    assert.match(dt.out, /extract \| events\s+\| table/);
    assert.match(dt.out, /extract \| persons\s+\| table/);
    const d = await psql(['-c', '\\d events']);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /person_id\s+\| integer/);
    assert.match(d.out, /event_date\s+\| date/);
    assert.match(d.out, /drug\s+\| text/);
    const r = await psql(['-A', '-F', ',', '-t', '-c', COHORT]);
    assert.equal(r.code, 0, r.err);
    const viaPsql = r.out.trim().split('\n').map((l) => l.split(','));
    const viaHttp = (await httpCohort()).map((row) => row.map((v) => String(v)));
    assert.ok(viaHttp.length > 0);
    assert.deepEqual(viaPsql, viaHttp);
    const v = await psql(['-A', '-t', '-c', 'SELECT version()', '-c', 'SELECT current_schema()', '-c', 'SHOW DateStyle']);
    assert.equal(v.code, 0, v.err);
    assert.deepEqual(v.out.trim().split('\n').slice(1), ['extract', 'ISO, MDY']);
    process.stdout.write(`psql: \\dt listed 2 extract tables, \\d events 4 columns, cohort query ${viaPsql.length} rows equal to the HTTP API's\n`);
  });

  test('node-postgres: simple and extended protocol, parameters, a named prepared statement, binary results, a portal read 25 rows at a time', async () => {
    const c = await client();
    try {
      const simple = await c.query('SELECT drug, count(*) AS n FROM events GROUP BY drug ORDER BY drug');
      assert.deepEqual(simple.rows, [{ drug: 'D0', n: '1200' }, { drug: 'D1', n: '1200' }, { drug: 'D2', n: '1200' }, { drug: 'D3', n: '1200' }, { drug: 'D4', n: '1200' }]);
      assert.equal(simple.fields[1]?.dataTypeID, 20);
      const params = await c.query('SELECT count(*)::INTEGER AS n, min(event_date) AS first FROM events WHERE drug = $1 AND amount >= $2', ['D1', 2]);
      const direct = await c.query("SELECT count(*)::INTEGER AS n, min(event_date) AS first FROM events WHERE drug = 'D1' AND amount >= 2");
      assert.deepEqual(params.rows, direct.rows);
      assert.equal(typeof params.rows[0]?.n, 'number');
      assert.ok(params.rows[0]?.first instanceof Date);
      for (const drug of ['D0', 'D3']) {
        const named = await c.query({ name: 'by-drug', text: 'SELECT count(*) AS n FROM events WHERE drug = $1', values: [drug] });
        assert.equal(named.rows[0]?.n, '1200');
      }
      const types = await c.query({
        text: "SELECT 1::SMALLINT a, 2::INTEGER b, 3::BIGINT c, 1.25::DOUBLE d, true e, 'x' f, DATE '2020-01-02' g, TIMESTAMP '2020-01-02 03:04:05.5' h, 12.50::DECIMAL(10,2) i, [1, 2] j, ['a', NULL] k",
        binary: true,
      } as pg.QueryConfig);
      assert.deepEqual(types.fields.map((f) => f.dataTypeID), [21, 23, 20, 701, 16, 25, 1082, 1114, 1700, 1007, 1009]);
      const row = types.rows[0] as Record<string, unknown>;
      assert.equal(row['a'], 1);
      assert.equal(row['b'], 2);
      assert.equal(row['d'], 1.25);
      assert.equal(row['e'], true);
      assert.equal(row['f'], 'x');
      assert.equal((row['g'] as Date).getFullYear(), 2020);
      const text = await c.query("SELECT 12.50::DECIMAL(10,2) i, [1, 2] j, ['a', NULL, 'b c'] k, INTERVAL '1 day 2 hours' l, TIMESTAMPTZ '2020-01-02 03:04:05+00' m");
      assert.deepEqual([text.rows[0]?.i, text.rows[0]?.j, text.rows[0]?.k], ['12.50', [1, 2], ['a', null, 'b c']]);
      assert.equal((text.rows[0]?.m as Date).toISOString(), '2020-01-02T03:04:05.000Z');
    } finally {
      await c.end();
    }
    // A portal with a row limit, through node-postgres's protocol connection.
    const raw = await client();
    raw.on('error', () => undefined);
    try {
      const con = (raw as unknown as { connection: { parse(o: object): void; bind(o: object): void; describe(o: object): void; execute(o: object): void; sync(): void; flush(): void; on(e: string, f: (m: { fields?: unknown[]; text?: string }) => void): void; removeAllListeners(e: string): void } }).connection;
      const rows: unknown[] = [];
      const batches: number[] = [];
      let done = false;
      let pending: (() => void) | undefined;
      // The client's own handlers expect its own queries: this test drives the protocol itself.
      for (const e of ['parseComplete', 'bindComplete', 'rowDescription', 'noData', 'dataRow', 'portalSuspended', 'commandComplete', 'readyForQuery', 'emptyQuery']) con.removeAllListeners(e);
      con.on('dataRow', (m) => rows.push(m.fields));
      con.on('portalSuspended', () => { batches.push(rows.length); pending?.(); });
      con.on('commandComplete', (m) => { batches.push(rows.length); done = true; assert.equal(m.text, 'SELECT 60'); pending?.(); });
      const step = (): Promise<void> => new Promise((resolve) => { pending = resolve; con.execute({ portal: 'p1', rows: 25 }); con.flush(); });
      con.parse({ name: '', text: 'SELECT person_id FROM persons WHERE person_id < $1 ORDER BY person_id', types: [] });
      con.bind({ portal: 'p1', statement: '', values: ['60'] });
      con.describe({ type: 'P', name: 'p1' });
      while (!done) await step();
      await new Promise<void>((resolve) => { con.on('readyForQuery', () => resolve()); con.sync(); });
      assert.deepEqual(batches, [25, 50, 60]);
      assert.equal(rows.length, 60);
    } finally {
      (raw as unknown as { connection: { end(): void } }).connection.end();
    }
    process.stdout.write('node-postgres: simple, parameters, named prepared statement, binary int2/int4/int8/float8/bool/text/date/timestamp/numeric/arrays, portal read 25+25+10\n');
  });

  test('psycopg2 runs the cohort query end to end with the same results as the HTTP API', async (t) => {
    const probe = spawnSync(PYTHON, ['-c', 'import psycopg2'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      process.stdout.write(`psycopg2: SKIPPED (${PYTHON} cannot import psycopg2: install python3-psycopg2)\n`);
      t.skip('python3-psycopg2 is not installed');
      return;
    }
    const script = `
import json, sys, psycopg2
conn = psycopg2.connect(host='127.0.0.1', port=${server.port}, dbname=sys.argv[1], user='member', password=sys.argv[2], sslmode='disable')
cur = conn.cursor()
cur.execute(sys.argv[3])
rows = [[str(v) for v in r] for r in cur.fetchall()]
cur.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2")
tables = cur.fetchall()
cur.execute("SELECT count(*) FROM events WHERE drug = %s", ('D2',))
n = cur.fetchone()[0]
conn.rollback()
print(json.dumps({"rows": rows, "tables": tables, "n": n}))
`;
    const r = await run(PYTHON, ['-c', script, project, token, COHORT], { timeout: 60_000 });
    const out = JSON.parse(r.stdout) as { rows: string[][]; tables: string[][]; n: number };
    const viaHttp = (await httpCohort()).map((row) => row.map((v) => String(v)));
    assert.deepEqual(out.rows, viaHttp);
    assert.deepEqual(out.tables, [['extract', 'events'], ['extract', 'persons']]);
    assert.equal(out.n, 1200);
    process.stdout.write(`psycopg2: cohort query ${out.rows.length} rows equal to the HTTP API's; information_schema.tables lists the extract; a %s parameter bound\n`);
  });

  test('refused at connect with a clear message: wrong token, another project\'s token, an unknown project, a permit without the database protocol', async () => {
    const refused = async (o: { database?: string; password?: string }): Promise<string> => {
      const err = await client(o).then(async (c) => { await c.end(); return null; }, (e: Error) => e);
      assert.ok(err !== null, `connected with ${JSON.stringify(o)}`);
      return err.message;
    };
    assert.match(await refused({ password: `${token.slice(0, -4)}AAAA` }), /password authentication failed/);
    assert.match(await refused({ password: otherToken }), /password authentication failed/);
    assert.match(await refused({ database: 'no-such-project', password: token }), /password authentication failed/);
    assert.match(await refused({ database: webOnly, password: webOnlyToken }), /no access to workspace: the permit does not allow database_protocol/);
    const p = await psql(['-c', 'SELECT 1'], otherToken);
    assert.notEqual(p.code, 0);
    assert.match(p.err, /password authentication failed for user "member"/);
    process.stdout.write('refused at connect: wrong token, other project\'s token, unknown project, permit without database_protocol (4/4)\n');
  });

  test('psql \\gdesc describes a statement without running it; a result over the row cap is cut with a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'enclave-pgwire-psql-'));
    try {
      await writeFile(join(dir, 'q.sql'), 'SELECT drug, amount, event_date FROM events \\gdesc\n');
      const r = await psql(['-A', '-t', '-f', join(dir, 'q.sql')]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(r.out.trim().split('\n'), ['drug|text', 'amount|integer', 'event_date|date']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const c = await client();
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    try {
      const r = await c.query({ text: 'SELECT range AS i FROM range(100005)', rowMode: 'array' });
      assert.equal(r.rows.length, 100_000);
      assert.equal(r.rowCount, 100_000);
      assert.equal(notices.length, 1);
      assert.match(notices[0] ?? '', /cut at the workspace's row cap \(100000 rows\)/);
    } finally {
      await c.end();
    }
  });

  test('COPY TO STDOUT is refused pointing at the airlock; engine settings cannot be set; harmless settings can', async () => {
    const c = await client();
    try {
      await assert.rejects(c.query('COPY (SELECT * FROM persons) TO STDOUT'), /leave it only through the airlock/);
      await assert.rejects(c.query('SET enable_external_access = true'), /unrecognized configuration parameter/);
      await assert.rejects(c.query("SET search_path = 'system.main'"), /does not exist in a workspace/);
      await assert.rejects(c.query("SET TimeZone = 'Europe/Paris'"), /UTC only/);
      await c.query('SET extra_float_digits = 3');
      await c.query("SET application_name = 'DBeaver 24'");
      assert.deepEqual((await c.query('SHOW application_name')).rows, [{ application_name: 'DBeaver 24' }]);
      assert.deepEqual((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      await c.query('BEGIN');
      assert.equal((await c.query('SELECT count(*) AS n FROM persons')).rows[0]?.n, '1000');
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
  });

  test('SECURITY-TESTS #11 through the PostgreSQL endpoint: every hostile statement refused with a clear error, audited, leaking nothing', async () => {
    const corpus = hostileStatements(targets);
    const c = await client();
    // Answered by the endpoint itself, never by the engine: a no-op transaction start, and the
    // endpoint's own catalogue (the member's tables and the session's settings only).
    const answered = new Set(['BEGIN TRANSACTION', 'SELECT * FROM information_schema.tables', 'SELECT * FROM pg_catalog.pg_settings']);
    let refused = 0;
    let leaks = 0;
    const answers: string[] = [];
    try {
      for (const sql of corpus) {
        const r = await c.query(sql).then((x) => ({ ok: true as const, text: JSON.stringify((x as { rows?: unknown }).rows ?? x) }), (e: Error & { hint?: string }) => ({ ok: false as const, text: `${e.message} ${e.hint ?? ''}` }));
        if (targets.leaks(r.text, sql)) leaks++;
        if (r.ok) {
          assert.ok(answered.has(sql), `${sql}: answered ${r.text.slice(0, 200)}`);
          answers.push(sql);
          continue;
        }
        assert.ok(r.text.length > 20, `${sql}: unclear error ${r.text}`);
        refused++;
      }
      await c.query('ROLLBACK');
    } finally {
      await c.end();
    }
    assert.equal(leaks, 0);
    assert.equal(refused + answers.length, corpus.length);
    const sqls = new Map<string, string>();
    for await (const l of w.f.audit.lines()) {
      const d = l.event?.details as Record<string, unknown> | undefined;
      if ((l.event?.action === 'workspace.query' || l.event?.action === 'pgwire.statement') && typeof d?.['sql'] === 'string') sqls.set(d['sql'], l.event.outcome);
    }
    const unaudited = corpus.filter((s) => !answered.has(s) && (sqls.get(s) === undefined || sqls.get(s) === 'success'));
    assert.deepEqual(unaudited, []);
    process.stdout.write(`SECURITY-TESTS #11 (PostgreSQL endpoint): ${corpus.length} hostile statements, ${refused} refused with a clear error and audited, ${answers.length} answered by the endpoint without the engine (${answers.join('; ')}), 0 leaks\n`);
  });

  test('each statement is in the audit log as from the browser', async () => {
    const c = await client();
    const marker = `pgwire-audit-${Date.now()}`;
    try {
      await c.query(`SELECT '${marker}' AS m, count(*) AS n FROM persons`);
      await c.query({ text: `SELECT '${marker}-2' AS m WHERE 1 = $1`, values: [1] });
    } finally {
      await c.end();
    }
    const found: string[] = [];
    for await (const l of w.f.audit.lines()) {
      const d = l.event?.details as Record<string, unknown> | undefined;
      if (l.event?.action === 'workspace.query' && typeof d?.['sql'] === 'string' && d['sql'].includes(marker) && l.event.target === `project:${project}` && l.event.actor.id === w.f.who.member.personId) found.push(String(d['sql']));
    }
    assert.deepEqual(found, [`SELECT '${marker}' AS m, count(*) AS n FROM persons`, `SELECT '${marker}-2' AS m WHERE 1 = '1'`]);
  });

  test('a cancel request stops the running statement', async () => {
    const c = await client();
    try {
      const long = c.query('SELECT sum(a.range * b.range) FROM range(300000) a, range(300000) b');
      await new Promise((r) => setTimeout(r, 700));
      const ids = c as unknown as { processID: number; secretKey: number };
      await new Promise<void>((resolve, reject) => {
        const s = connect(server.port, '127.0.0.1', () => {
          const b = Buffer.alloc(16);
          b.writeInt32BE(16, 0);
          b.writeInt32BE(80877102, 4);
          b.writeInt32BE(ids.processID, 8);
          b.writeInt32BE(ids.secretKey, 12);
          s.end(b);
        });
        s.on('close', () => resolve());
        s.on('error', reject);
      });
      const t0 = Date.now();
      await assert.rejects(long, (e: Error & { code?: string }) => e.code === '57014' && /cancelled/.test(e.message));
      assert.ok(Date.now() - t0 < 5000);
      assert.deepEqual((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await c.end();
    }
  });

  test('TLS: a listener with a certificate serves TLS only; without one it binds loopback only', async () => {
    await assert.rejects(startPgwire({ host: '0.0.0.0', port: 0, workspace: w.ws, identity: w.f.identity, audit: w.f.audit }), /needs TLS/);
    const dir = await mkdtemp(join(tmpdir(), 'enclave-pgwire-tls-'));
    try {
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
      const secure = await startPgwire({ host: '127.0.0.1', port: 0, workspace: w.ws, identity: w.f.identity, audit: w.f.audit, tls: { cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) } });
      try {
        const conn = (mode: string): string => `host=127.0.0.1 port=${secure.port} dbname=${project} user=member sslmode=${mode} connect_timeout=10`;
        const env = { ...process.env, PGPASSWORD: token };
        const ok = await run(PSQL, ['-X', '-A', '-t', conn('require'), '-c', 'SELECT count(*) FROM persons'], { env, timeout: 60_000 });
        assert.equal(ok.stdout.trim(), '1000');
        const plain = await run(PSQL, ['-X', conn('disable'), '-c', 'SELECT 1'], { env, timeout: 60_000 }).then(() => '', (e: { stderr?: string }) => e.stderr ?? '');
        assert.match(plain, /this endpoint accepts TLS connections only/);
      } finally {
        await secure.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    process.stdout.write('TLS: psql sslmode=require served; sslmode=disable refused; plain TCP beyond loopback refused at start\n');
  });

  test('suspension closes open connections within seconds; the next connection is refused', async () => {
    const p = await activeProject(['web_sql', 'database_protocol']);
    const tk = await tokenFor(p);
    const c = await client({ database: p, password: tk });
    const ended = new Promise<string>((resolve) => {
      c.on('error', (e) => resolve(e.message));
      c.on('end', () => resolve('ended'));
    });
    assert.equal(server.connections(p), 1);
    const t0 = Date.now();
    await w.f.gov.take(w.f.who.committee1, p, 'suspend');
    const why = await ended;
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 3, `closed after ${seconds}s`);
    assert.equal(server.connections(p), 0);
    assert.ok(why === 'ended' || /no access to workspace/.test(why), why);
    const err = await client({ database: p, password: tk }).then(() => null, (e: Error) => e.message);
    assert.match(err ?? '', /no access to workspace/);
    process.stdout.write(`suspension: open connection closed after ${seconds.toFixed(2)} s; reconnection refused\n`);
  });

  test('expiry closes open connections within seconds (periodic re-check)', async () => {
    const c = await client();
    const ended = new Promise<string>((resolve) => {
      c.on('error', (e) => resolve(e.message));
      c.on('end', () => resolve('ended'));
    });
    const t0 = Date.now();
    w.f.setNow(new Date('2027-03-15T10:00:00Z'));
    try {
      const why = await ended;
      const seconds = (Date.now() - t0) / 1000;
      assert.ok(seconds < 3, `closed after ${seconds}s`);
      assert.ok(why === 'ended' || /no access to workspace/.test(why), why);
      process.stdout.write(`expiry: open connection closed after ${seconds.toFixed(2)} s\n`);
    } finally {
      w.f.setNow(new Date('2026-03-01T10:00:00Z'));
    }
  });
});
