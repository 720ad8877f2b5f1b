/**
 * A project moved between engines on a real Trino (issue 17 item 4): one Enclave runs DuckDB by
 * default with Trino configured beside it; a project with an active permit is moved
 * duckdb → trino → duckdb by the operator (the API, 202). After each move the member's same
 * statements give the same results on the new engine, the old engine's copy is gone, and a
 * suspension cuts access at once on the engine the project is on. Closing the project drops its
 * schema on Trino too (recorded as owed first, then paid: src/workspace/engine-cleanup.ts).
 *
 * Needs ENCLAVE_TRINO_URL, ENCLAVE_TRINO_RULES_FILE and ENCLAVE_TRINO_WAREHOUSE (scripts/trino.sh);
 * skipped with the reason printed otherwise. Runs on the PGlite pass (the metadata database's
 * side is test/engine-choice.test.ts's, on both).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trinoExclusive, trinoReachable, trinoTarget } from '../src/engine/spec/trino-fixture.ts';
import { TrinoClient } from '../src/engine/trino/client.ts';
import { workspaceSchema } from '../src/engine/trino/engine.ts';
import { EXTRACT_MARK } from '../src/engine/trino/extract.ts';
import { ADMIN_USER } from '../src/engine/trino/rules.ts';
import { isAppError } from '../src/errors.ts';
import { EMBEDDED_ISSUER_ID, type Principal } from '../src/identity/index.ts';
import { createApp, type Platform } from '../src/main.ts';
import { platformWithPrsProject } from './e2e/harness.ts';
import { testDbKind } from './helpers/db.ts';

const target = trinoTarget(process.env);
const warehouse = process.env['ENCLAVE_TRINO_WAREHOUSE'];
const skip = testDbKind !== 'pglite' ? 'the move on Trino runs on the PGlite pass only (test/engine-choice.test.ts covers PostgreSQL)'
  : 'skip' in target ? target.skip
    : warehouse === undefined || warehouse === '' ? 'ENCLAVE_TRINO_WAREHOUSE is not set (`scripts/trino.sh warehouse`)'
      : await trinoReachable(target);
if (skip !== undefined) console.log(`engine choice on a real Trino skipped: ${skip}`);

/** Statements both engines speak, with results that do not depend on the engine. */
const QUERIES = [
  'SELECT count(*) AS n, count(DISTINCT ben_nir_psa) AS persons, sum(prs_act_qte) AS units, min(exe_soi_dtd) AS first_day, max(exe_soi_dtd) AS last_day FROM er_prs_f',
  'SELECT prs_nat_ref, count(*) AS n, sum(prs_act_qte) AS units FROM er_prs_f GROUP BY prs_nat_ref ORDER BY prs_nat_ref',
];

describe('a project moved duckdb → trino → duckdb on a real Trino', { skip }, () => {
  let dir: string;
  let p: Platform;
  let app: ReturnType<typeof createApp>;
  let project: string;
  let release: (() => Promise<void>) | undefined;
  let operator: { cookie: string; csrf: string };
  let member: Principal;
  let committee: Principal;
  let baseline: string[];

  before(async () => {
    if ('skip' in target || warehouse === undefined) return;
    // The dataset schema (snds_v1) is shared with the other Trino test files: one at a time.
    release = await trinoExclusive(target);
    dir = await mkdtemp(join(tmpdir(), 'enclave-engine-trino-'));
    ({ platform: p, app, project } = await platformWithPrsProject({
      ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keys', 'keyring.json'), ENCLAVE_ENGINE_THREADS: '1', ENCLAVE_AUDIT_CHECKPOINT_SECONDS: '0',
      ENCLAVE_TRINO_URL: target.url, ENCLAVE_TRINO_RULES_FILE: target.rulesFile, ENCLAVE_TRINO_WAREHOUSE: warehouse,
    }, dir));
    const s = await p.identity.login({ issuer: EMBEDDED_ISSUER_ID, subject: 'operator', displayName: 'operator', email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
    operator = { cookie: s.cookieValue, csrf: s.csrfToken };
    const principal = async (u: string): Promise<Principal> => p.identity.principalOf((await p.identity.personBySubject(EMBEDDED_ISSUER_ID, u))?.id ?? '', 'session');
    member = await principal('member');
    committee = await principal('committee1');
    baseline = await results();
  });
  after(async () => {
    await p?.close();
    await release?.();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** The member's statements, each result's rows as JSON. */
  async function results(): Promise<string[]> {
    const out: string[] = [];
    for (const sql of QUERIES) {
      const { done } = await p.workspace.submit(member, project, { sql, waitMs: 0 });
      const q = await done;
      assert.equal(q.status, 'succeeded', `${sql}: ${JSON.stringify(q.error)}`);
      const page = await p.workspace.rows(member, project, q.id, { offset: 0, limit: 1000 });
      // engines name types differently (BIGINT, bigint): rows compared as text
      out.push(JSON.stringify(page.rows.map((r) => r.map((c) => (c === null ? null : String(c))))));
    }
    return out;
  }

  async function move(engine: 'duckdb' | 'trino'): Promise<void> {
    const res = await app.request(`/api/v1/operator/projects/${project}/engine`, {
      method: 'PUT', headers: { cookie: `enclave_session=${operator.cookie}`, 'x-csrf-token': operator.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ engine }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    await p.engineChoice.idle();
    const m = await p.extracts.current(project);
    assert.equal(m?.engine, engine, 'the ready extract is on the new engine');
    assert.equal((await p.db.query<{ engine: string | null }>('SELECT engine FROM governance_projects WHERE id = $1', [project]))[0]?.engine, engine);
  }

  async function trinoExtractTables(): Promise<number> {
    const c = new TrinoClient({ url: 'skip' in target ? '' : target.url });
    const r = await c.query(`SELECT count(*) FROM system.metadata.table_comments WHERE catalog_name = 'enclave' AND schema_name = '${workspaceSchema(project)}' AND comment = '${EXTRACT_MARK}'`, { user: ADMIN_USER, catalog: 'enclave' });
    return Number(r.rows[0]?.[0] ?? 0);
  }

  test('moved to Trino: the same results there; suspension cuts access at once; the DuckDB generation is gone', async () => {
    const before = await p.extracts.current(project);
    assert.equal(before?.engine, 'duckdb');
    await move('trino');
    assert.match((await p.extracts.current(project))?.tables[0]?.files[0]?.path ?? '', /^engine:trino\//);
    assert.deepEqual(await results(), baseline, 'the same statements give the same rows on Trino');
    const events = (await p.db.query<{ action: string }>("SELECT action FROM audit_events WHERE target = $1 AND action LIKE 'project.engine.%' ORDER BY seq", [`project:${project}`])).map((r) => r.action);
    assert.deepEqual(events, ['project.engine.change', 'project.engine.rebuilt']);
    assert.equal((await p.extracts.generations(project)).find((g) => g.generation === before?.generation)?.state, 'destroyed');

    await p.governance.take(committee, project, 'suspend');
    await assert.rejects(p.workspace.submit(member, project, { sql: QUERIES[0], waitMs: 0 }), (e: unknown) => isAppError(e) && e.code === 'forbidden');
    await p.governance.take(committee, project, 'reinstate');
    await p.extracts.idle();
    assert.equal((await p.extracts.current(project))?.engine, 'trino', 'reinstated on the engine it is on');
    assert.deepEqual(await results(), baseline);
  });

  test('moved back to DuckDB: the same results, and Trino keeps no extract table of the project', async () => {
    assert.ok((await trinoExtractTables()) > 0);
    await move('duckdb');
    assert.deepEqual(await results(), baseline);
    assert.equal(await trinoExtractTables(), 0, 'the Trino copy is dropped');
  });

  test('closing the project drops its schema on Trino as well', async () => {
    await move('trino');
    await p.governance.take(committee, project, 'close');
    await p.extracts.idle();
    // the closure runs on governance's change; wait for its audit event
    for (let i = 0; i < 100; i++) {
      const [r] = await p.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_events WHERE target = $1 AND action = 'workspace.extract.destroy'", [`project:${project}`]);
      if (Number(r?.n ?? 0) >= 2) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const c = new TrinoClient({ url: 'skip' in target ? '' : target.url });
    const r = await c.query(`SELECT count(*) FROM enclave.information_schema.schemata WHERE schema_name = '${workspaceSchema(project)}'`, { user: ADMIN_USER, catalog: 'enclave' });
    assert.equal(Number(r.rows[0]?.[0]), 0);
    // the drop was recorded as owed before it was tried, then paid: audited, nothing left owed
    assert.deepEqual((await p.engineCleanups.list({ all: true })).filter((c) => c.projectId === project).map((c) => [c.engine, c.state, c.attempts]), [['trino', 'done', 1]]);
    const events = await p.db.query<{ action: string; outcome: string }>("SELECT action, outcome FROM audit_events WHERE target = $1 AND action LIKE 'trino.cleanup%' ORDER BY seq", [`project:${project}`]);
    assert.deepEqual(events.map((e) => `${e.action} ${e.outcome}`), ['trino.cleanup.owed success', 'trino.cleanup success']);
  });
});
