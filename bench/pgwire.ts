/**
 * The PostgreSQL endpoint's cost: the workspace's cohort queries through the endpoint
 * (node-postgres), through the HTTP API (POST /queries, then GET …/rows by pages of 1 000) and on
 * raw DuckDB over the same encrypted extract files, in the same run; then a large result fetched
 * in pages by each path.
 *
 *   node bench/pgwire.ts        cohort queries on the test extract (1 000 persons, 6 000 events), best of 5
 *                               and a fetch of BENCH_PGWIRE_ROWS rows (default 1 000 000; e.g. 50000 for a quick run)
 *
 * ratio = raw DuckDB time / path time: 1.00 is as fast as raw DuckDB. What the paths add: the
 * permit check, the engine's parser check, the sandbox process, the audit events in the metadata
 * database (two per statement), and for the pages one permit check each.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import pg from 'pg';
import { formatTable } from '../src/cli/table.ts';
import { createHttpApp } from '../src/http/app.ts';
import { sessionCookieName, type AuthDeps } from '../src/http/auth.ts';
import { workspaceRoutes } from '../src/http/routes/workspace.ts';
import { duckdbReadOptions, registerParquetKey } from '../src/parquet-crypto/index.ts';
import { startPgwire } from '../src/pgwire/index.ts';
import { openWorkspaceFixture } from '../test/helpers/workspace.ts';

const ROWS = Number(process.env['BENCH_PGWIRE_ROWS'] ?? 1_000_000);
const REPEAT = Math.max(1, Number(process.env['BENCH_PGWIRE_REPEAT'] ?? 5));
const QUERIES: ReadonlyArray<readonly [string, string]> = [
  ['count', 'SELECT count(*) AS n FROM events'],
  ['cohort by dept and sex', `SELECT p.dept, p.sex, count(DISTINCT e.person_id) AS persons, sum(e.amount) AS units FROM persons p JOIN events e USING (person_id) WHERE p.birth_year BETWEEN 1940 AND 1960 AND e.drug = 'D1' GROUP BY p.dept, p.sex ORDER BY p.dept, p.sex`],
  ['exposure per month', `SELECT date_trunc('month', event_date) AS month, drug, count(*) AS n FROM events GROUP BY 1, 2 ORDER BY 1, 2`],
  ['first event per person', 'SELECT person_id, min(event_date) AS first_event FROM events GROUP BY person_id ORDER BY person_id'],
];

const w = await openWorkspaceFixture({ limits: { rowCap: Math.max(ROWS, 100_000), statementTimeoutMs: 120_000, memoryBytes: 1024 * 1024 * 1024 } });
try {
  const { gov, who } = w.f;
  const created = await gov.createProject(who.applicant, w.f.application());
  const project = created.id;
  await gov.addMember(who.applicant, project, who.member.personId, 'member');
  for (const [k, a] of [['applicant', 'submit'], ['committee1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']] as const) await gov.take(who[k], project, a);
  await gov.proposePermit(who.committee1, project, await w.f.permitFor(project, { tools: ['web_sql', 'database_protocol'] }));
  await gov.take(who.committee1, project, 'committee_approve');
  await gov.take(who.committee2, project, 'committee_approve');
  w.extracts.ready.add(project);
  const token = (await w.f.identity.createApiToken(who.member, project, { days: 30 })).token;

  const server = await startPgwire({ host: '127.0.0.1', port: 0, workspace: w.ws, identity: w.f.identity, audit: w.f.audit });
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, database: project, user: 'member', password: token });
  await client.connect();

  const auth: AuthDeps = { cookieName: sessionCookieName(false), resolveSession: (v) => w.f.identity.resolveSession(v), resolveApiToken: (t) => w.f.identity.resolveApiToken(t), denied: async () => undefined };
  const app = createHttpApp({ version: 'bench', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'projects', app: workspaceRoutes(w.ws, auth) }] });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const http = async (sql: string): Promise<number> => {
    const q = await (await app.request(`/api/v1/projects/${project}/queries`, { method: 'POST', headers, body: JSON.stringify({ sql, waitMs: 60_000 }) })).json() as { id: string; status: string; rowCount: number };
    if (q.status !== 'succeeded') throw new Error(`HTTP API: ${sql}: ${q.status}`);
    let n = 0;
    for (let offset = 0; offset < q.rowCount; offset += 1000) {
      const page = await (await app.request(`/api/v1/projects/${project}/queries/${q.id}/rows?offset=${offset}&limit=1000`, { headers })).json() as { rows: unknown[] };
      n += page.rows.length;
    }
    return n;
  };
  const wire = async (sql: string): Promise<number> => (await client.query({ text: sql, rowMode: 'array' })).rows.length;

  const duck = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await duck.connect();
  await registerParquetKey(conn, 'kbench', w.ex.key);
  const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  await conn.run(`CREATE VIEW persons AS SELECT * FROM read_parquet(${q(join(w.ex.dir, 'persons.parquet'))}, ${duckdbReadOptions('kbench')})`);
  await conn.run(`CREATE VIEW events AS SELECT * FROM read_parquet([${q(join(w.ex.dir, 'events-0.parquet'))}, ${q(join(w.ex.dir, 'events-1.parquet'))}], ${duckdbReadOptions('kbench')})`);
  const raw = async (sql: string): Promise<number> => (await conn.runAndReadAll(sql)).getRowsJson().length;

  const best = async (f: () => Promise<number>): Promise<{ secs: number; rows: number }> => {
    let secs = Infinity;
    let rows = 0;
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      rows = await f();
      secs = Math.min(secs, (performance.now() - t) / 1000);
    }
    return { secs, rows };
  };
  const table: Array<Array<string | number>> = [];
  const add = async (name: string, sql: string, repeat = true): Promise<void> => {
    const once = async (f: () => Promise<number>): Promise<{ secs: number; rows: number }> => {
      const t = performance.now();
      const rows = await f();
      return { secs: (performance.now() - t) / 1000, rows };
    };
    const measure = repeat ? best : once;
    const r = await measure(() => raw(sql));
    const h = await measure(() => http(sql));
    const p = await measure(() => wire(sql));
    if (h.rows !== r.rows || p.rows !== r.rows) throw new Error(`${name}: rows differ (raw ${r.rows}, HTTP ${h.rows}, pgwire ${p.rows})`);
    const ms = (s: number): number => Math.round(s * 10_000) / 10;
    table.push([name, r.rows, ms(r.secs), ms(h.secs), ms(p.secs), Number((r.secs / h.secs).toFixed(3)), Number((r.secs / p.secs).toFixed(3)), Number((h.secs / p.secs).toFixed(2))]);
  };
  for (const [name, sql] of QUERIES) await add(name, sql);
  await add(`fetch ${ROWS.toLocaleString('en')} rows in pages`, `SELECT range AS i, range % 97 AS k, 'row ' || range AS label FROM range(${ROWS})`, false);
  process.stdout.write(`${formatTable(['query', 'rows', 'raw DuckDB ms', 'HTTP API ms', 'pgwire ms', 'raw/HTTP', 'raw/pgwire', 'HTTP/pgwire'], table)}\n`);
  process.stdout.write(`(best of ${REPEAT} for the queries, one run for the fetch; pgwire pages of 1 000 rows, each a permit check and an engine read; the HTTP API pages of 1 000 rows)\n`);
  await client.end();
  await server.close();
  conn.closeSync();
  duck.closeSync();
} finally {
  await w.close();
}
