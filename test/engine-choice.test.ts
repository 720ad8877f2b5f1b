/**
 * The engine per project (issue 17 item 4) on the real platform (createPlatform, PGlite and
 * PostgreSQL), through the HTTP API, the CLI and the service: the operator sees and sets a
 * project's engine, members see it on their workspace's extract and cannot change it, every
 * refused request changes nothing, and a move whose rebuild fails puts the project back, audited,
 * the workspace never having left its engine.
 *
 * Trino is configured (so that the platform offers it) at an address where nothing listens: the
 * rebuild there fails for real. The move that succeeds, on a real Trino, is
 * test/engine-choice-trino.test.ts's.
 *
 * Closing the project with Trino unreachable leaves the drop of its Trino copy owed
 * (src/workspace/engine-cleanup.ts): recorded, audited, shown to operators, tried again; with a
 * real Trino configured (ENCLAVE_TRINO_URL, ENCLAVE_TRINO_RULES_FILE: `scripts/trino.sh`), a
 * retry against it drops what the project left there and clears the debt (skipped with the
 * reason printed otherwise).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../src/cli/program.ts';
import { trinoReachable, trinoTarget } from '../src/engine/spec/trino-fixture.ts';
import { TrinoClient } from '../src/engine/trino/client.ts';
import { workspaceSchema } from '../src/engine/trino/engine.ts';
import { openTrinoExtractBuilder, trinoExtractBuilderPort } from '../src/engine/trino/extract.ts';
import { ADMIN_USER } from '../src/engine/trino/rules.ts';
import { isAppError } from '../src/errors.ts';
import { EMBEDDED_ISSUER_ID, type Principal } from '../src/identity/index.ts';
import { createApp, type Platform } from '../src/main.ts';
import { EngineChoice, EngineCleanups, ProjectEngines, type CleanupPass, type EngineCleanup, type ProjectEngineListing, type ProjectEngineState } from '../src/workspace/index.ts';
import { platformWithPrsProject } from './e2e/harness.ts';
import { openTestDb, testDbKind, type TestDb } from './helpers/db.ts';

const realTrino = trinoTarget(process.env);
const realTrinoSkip = 'skip' in realTrino ? realTrino.skip : await trinoReachable(realTrino);
if (realTrinoSkip !== undefined) console.log(`the owed drop paid on a real Trino skipped: ${realTrinoSkip}`);

describe(`a project's engine: shown, chosen by operators only, moved back when its rebuild fails (${testDbKind})`, () => {
  let dir: string;
  let t: TestDb | undefined;
  let p: Platform;
  let app: ReturnType<typeof createApp>;
  let project: string;
  const session: Record<string, { cookie: string; csrf: string; principal: Principal }> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-engine-choice-'));
    t = testDbKind === 'postgres' ? await openTestDb({ migrated: false }) : undefined;
    ({ platform: p, app, project } = await platformWithPrsProject({
      ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keys', 'keyring.json'), ENCLAVE_ENGINE_THREADS: '1', ENCLAVE_AUDIT_CHECKPOINT_SECONDS: '0',
      // Trino offered beside the DuckDB default, at an address where nothing listens
      ENCLAVE_TRINO_URL: 'http://127.0.0.1:9', ENCLAVE_TRINO_RULES_FILE: join(dir, 'trino', 'rules.json'), ENCLAVE_TRINO_WAREHOUSE: join(dir, 'trino', 'warehouse'),
      ...(t?.url === undefined ? {} : { DATABASE_URL: t.url }),
    }, dir));
    for (const who of ['operator', 'member']) {
      const s = await p.identity.login({ issuer: EMBEDDED_ISSUER_ID, subject: who, displayName: who, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      const person = await p.identity.personBySubject(EMBEDDED_ISSUER_ID, who);
      assert.ok(person !== null);
      session[who] = { cookie: s.cookieValue, csrf: s.csrfToken, principal: await p.identity.principalOf(person.id, 'session') };
    }
  });
  after(async () => {
    await p?.close();
    await t?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (method: 'GET' | 'PUT' | 'POST', path: string, who: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const s = session[who];
    assert.ok(s !== undefined);
    const res = await app.request(`/api/v1${path}`, {
      method, headers: { cookie: `enclave_session=${s.cookie}`, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', ...args], {
      version: 'test', serve: async () => undefined, open: async () => ({ ...p, close: async () => undefined }),
      out: { write: (s) => { out += s; } }, err: { write: (s) => { err += s; } },
    });
    return { code, out, err };
  };
  const recorded = async (): Promise<string | null> => (await p.db.query<{ engine: string | null }>('SELECT engine FROM governance_projects WHERE id = $1', [project]))[0]?.engine ?? null;
  const engineEvents = async (): Promise<string[]> => (await p.db.query<{ action: string }>("SELECT action FROM audit_events WHERE action LIKE 'project.engine.%' AND target = $1 ORDER BY seq", [`project:${project}`])).map((r) => r.action);
  const count = async (sql: string): Promise<string> => {
    const { done } = await p.workspace.submit(session['member']?.principal as Principal, project, { sql, waitMs: 0 });
    const q = await done;
    assert.equal(q.status, 'succeeded', JSON.stringify(q.error));
    const page = await p.workspace.rows(session['member']?.principal as Principal, project, q.id, { offset: 0, limit: 10 });
    return String(page.rows[0]?.[0]);
  };

  test('the health endpoint names every engine the deployment runs, the default first', async () => {
    const res = await app.request('/healthz');
    const h = (await res.json()) as { engine: string; engines: string[] };
    assert.equal(h.engine, 'duckdb');
    assert.deepEqual(h.engines, ['duckdb', 'trino']);
  });

  test('the member sees the engine of the extract on the workspace; the operator sees the project\'s engine and the engines available', async () => {
    const ws = await call('GET', `/projects/${project}/workspace`, 'member');
    assert.equal(ws.status, 200);
    assert.equal((ws.body['extract'] as { engine?: string }).engine, 'duckdb');
    const r = await call('GET', `/operator/projects/${project}/engine`, 'operator');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { projectId: project, engine: 'duckdb', isDefault: true, defaultEngine: 'duckdb', available: ['duckdb', 'trino'], serving: 'duckdb', moving: false, lastFailure: null } satisfies ProjectEngineState);
    const shown = await cli('projects', 'engine', project);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /engine +duckdb \(the deployment's default\)/);
    assert.match(shown.out, /available +duckdb, trino \(default duckdb\)/);
  });

  test('refused requests change nothing: a member, an unknown engine, an unknown project, an engine the deployment does not run', async () => {
    const before = await engineEvents();
    const member = await call('PUT', `/operator/projects/${project}/engine`, 'member', { engine: 'trino' });
    assert.equal(member.status, 403);
    assert.equal((await call('GET', '/operator/projects/engines', 'member')).status, 403);
    await assert.rejects(p.engineChoice.list(session['member']?.principal as Principal, { limit: 10, offset: 0 }), (e: unknown) => isAppError(e) && e.code === 'forbidden');
    assert.equal((await call('GET', `/operator/projects/${project}/engine`, 'member')).status, 403);
    await assert.rejects(p.engineChoice.set(session['member']?.principal as Principal, project, { engine: 'trino' }), (e: unknown) => isAppError(e) && e.code === 'forbidden');
    const bad = await call('PUT', `/operator/projects/${project}/engine`, 'operator', { engine: 'spark' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body['detail'] ?? bad.body['title']), /engine must be one of duckdb, trino/);
    assert.equal((await call('PUT', '/operator/projects/no-such-project/engine', 'operator', { engine: 'duckdb' })).status, 404);
    const cliBad = await cli('projects', 'engine', project, 'spark');
    assert.equal(cliBad.code, 1);
    assert.match(cliBad.err, /engine must be one of duckdb, trino/);
    // a deployment that runs DuckDB only (the same database and extracts, as its own service)
    const duckOnly = new EngineChoice({ db: p.db, audit: p.audit, engines: new ProjectEngines(p.db, { defaultEngine: 'duckdb', available: ['duckdb'] }), extracts: p.extracts, dropExtract: async () => undefined });
    await assert.rejects(duckOnly.set(session['operator']?.principal as Principal, project, { engine: 'trino' }), (e: unknown) => isAppError(e) && e.code === 'conflict' && /does not run the trino engine/.test(e.message) && /ENCLAVE_TRINO_URL/.test(e.hint ?? ''));
    assert.equal(await recorded(), null);
    assert.deepEqual(await engineEvents(), before);
  });

  test('the operator pins the project on its engine: recorded and audited, nothing to move (200)', async () => {
    const r = await call('PUT', `/operator/projects/${project}/engine`, 'operator', { engine: 'duckdb' });
    assert.equal(r.status, 200);
    assert.equal(r.body['accepted'], false);
    assert.equal((r.body['state'] as ProjectEngineState).isDefault, false);
    assert.equal(await recorded(), 'duckdb');
    assert.deepEqual(await engineEvents(), ['project.engine.change']);
    // again: no change, no event
    assert.equal((await call('PUT', `/operator/projects/${project}/engine`, 'operator', { engine: 'duckdb' })).status, 200);
    assert.deepEqual(await engineEvents(), ['project.engine.change']);
  });

  test('a move whose rebuild fails (Trino unreachable) puts the project back, audited; the workspace stays on DuckDB throughout', async () => {
    const n = await count('SELECT count(*) FROM er_prs_f');
    const generation = (await p.extracts.current(project))?.generation;
    const r = await cli('projects', 'engine', project, 'trino');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Moving: the extract is being rebuilt on trino; members keep working on duckdb/);
    assert.equal(await count('SELECT count(*) FROM er_prs_f'), n);
    await p.engineChoice.idle();
    assert.equal(await recorded(), 'duckdb');
    const events = await p.db.query<{ action: string; details: unknown }>("SELECT action, details FROM audit_events WHERE action LIKE 'project.engine.%' AND target = $1 ORDER BY seq", [`project:${project}`]);
    assert.deepEqual(events.map((e) => e.action), ['project.engine.change', 'project.engine.change', 'project.engine.revert']);
    const revert = events[2]?.details as { from: string; to: string; error: string } | string;
    const d = typeof revert === 'string' ? JSON.parse(revert) as { from: string; to: string; error: string } : revert;
    assert.equal(d.from, 'trino');
    assert.equal(d.to, 'duckdb');
    const state = (await call('GET', `/operator/projects/${project}/engine`, 'operator')).body as unknown as ProjectEngineState;
    assert.deepEqual([state.engine, state.serving, state.moving], ['duckdb', 'duckdb', false]);
    assert.equal((await p.extracts.current(project))?.generation, generation, 'the DuckDB generation is still the one served');
    assert.equal((await p.extracts.latest(project))?.state, 'failed');
    assert.equal(await count('SELECT count(*) FROM er_prs_f'), n);
  });

  test('the operators\' list gives every project\'s engine state in one answer, the same as each project\'s own, with why its last move failed', async () => {
    type Page = { total: number; offset: number; limit: number; projects: ProjectEngineListing[] };
    const r = await call('GET', '/operator/projects/engines', 'operator');
    assert.equal(r.status, 200);
    const page = r.body as unknown as Page;
    const all = await p.db.query<{ id: string; status: string }>('SELECT id, status FROM governance_projects ORDER BY id');
    assert.equal(page.total, all.length);
    assert.deepEqual([page.offset, page.limit], [0, 100]);
    assert.deepEqual(page.projects.map((x) => [x.projectId, x.status]), all.map((x) => [x.id, x.status]));
    for (const listed of page.projects) {
      const { status, ...state } = listed;
      assert.deepEqual(state, (await call('GET', `/operator/projects/${listed.projectId}/engine`, 'operator')).body, `project ${listed.projectId} as the list gives it and as its own route does`);
      assert.equal(status, all.find((x) => x.id === listed.projectId)?.status);
    }
    // the moved project: back on DuckDB, and the reason its move failed, as the revert event gives it
    const mine = page.projects.find((x) => x.projectId === project);
    const [revert] = await p.db.query<{ time: Date | string; details: unknown }>("SELECT time, details FROM audit_events WHERE action = 'project.engine.revert' AND target = $1 ORDER BY seq DESC LIMIT 1", [`project:${project}`]);
    assert.ok(mine !== undefined && revert !== undefined);
    const d = (typeof revert.details === 'string' ? JSON.parse(revert.details) : revert.details) as { error: string };
    assert.match(d.error, /^the Trino engine is not reachable \(/, 'the reason says what failed, not only that something did');
    assert.deepEqual([mine.engine, mine.serving, mine.moving, mine.lastFailure?.engine, mine.lastFailure?.reason], ['duckdb', 'duckdb', false, 'trino', d.error]);
    const at = Date.parse(mine.lastFailure?.at ?? '');
    assert.ok(Math.abs(at - new Date(revert.time).getTime()) < 60_000, `failed at ${String(mine.lastFailure?.at)}, reverted at ${String(revert.time)}`);
    process.stdout.write(`last failed move of ${project}: ${JSON.stringify(mine.lastFailure)}\n`);
    const shown = await cli('projects', 'engine', project);
    assert.match(shown.out, /last move +to trino failed at \S+: the Trino engine is not reachable \(.+\) \(put back\)/);
    // projects that never moved have no failure
    for (const x of page.projects.filter((y) => y.projectId !== project)) assert.equal(x.lastFailure, null);
  });

  test('the operators\' list is paged: limit and offset, bounded, a wrong one refused with the field named', async () => {
    type Page = { total: number; projects: ProjectEngineListing[] };
    const whole = (await call('GET', '/operator/projects/engines', 'operator')).body as unknown as Page;
    const first = (await call('GET', '/operator/projects/engines?limit=1', 'operator')).body as unknown as Page;
    assert.equal(first.total, whole.total);
    assert.deepEqual(first.projects, whole.projects.slice(0, 1));
    const rest = (await call('GET', '/operator/projects/engines?limit=500&offset=1', 'operator')).body as unknown as Page;
    assert.deepEqual(rest.projects, whole.projects.slice(1));
    for (const q of ['limit=0', 'limit=501', 'limit=ten', 'offset=-1']) {
      const bad = await call('GET', `/operator/projects/engines?${q}`, 'operator');
      assert.equal(bad.status, 400, q);
      assert.equal((bad.body['details'] as { field?: string } | undefined)?.field, q.split('=')[0], q);
    }
  });

  test('a move a stopped server left half-done is taken up at start: rebuilt, or (here) put back, audited', async () => {
    // as a crash right after the choice was recorded leaves it
    await p.db.query("UPDATE governance_projects SET engine = 'trino' WHERE id = $1", [project]);
    assert.equal(((await call('GET', `/operator/projects/${project}/engine`, 'operator')).body as unknown as ProjectEngineState).moving, true);
    await p.engineChoice.resume();
    await p.engineChoice.idle();
    assert.equal(await recorded(), 'duckdb');
    const [last] = await p.db.query<{ action: string }>("SELECT action FROM audit_events WHERE target = $1 AND action LIKE 'project.engine.%' ORDER BY seq DESC LIMIT 1", [`project:${project}`]);
    assert.equal(last?.action, 'project.engine.revert');
    assert.equal((await p.extracts.current(project))?.engine, 'duckdb');
  });

  test('a closed project\'s engine no longer changes', async () => {
    const committee = await p.identity.principalOf((await p.identity.personBySubject(EMBEDDED_ISSUER_ID, 'committee1'))?.id ?? '', 'session');
    await p.governance.take(committee, project, 'close');
    const r = await call('PUT', `/operator/projects/${project}/engine`, 'operator', { engine: 'trino' });
    assert.equal(r.status, 409);
    assert.match(String(r.body['detail']), /is closed: its workspace has ended/);
  });

  const cleanupEvents = async (): Promise<string[]> => (await p.db.query<{ action: string; outcome: string }>("SELECT action, outcome FROM audit_events WHERE action LIKE 'trino.cleanup%' AND target = $1 ORDER BY seq", [`project:${project}`])).map((r) => `${r.action} ${r.outcome}`);

  test('closed while Trino is unreachable: its keys are destroyed, and the drop of its Trino copy is recorded as owed, audited, counted on /healthz and listed for operators', async () => {
    await p.workspace.settled();
    const destroyed = await p.db.query<{ action: string }>("SELECT action FROM audit_events WHERE target = $1 AND action IN ('workspace.project.destroy', 'workspace.extract.destroy') ORDER BY seq", [`project:${project}`]);
    assert.deepEqual(destroyed.map((r) => r.action), ['workspace.project.destroy', 'workspace.extract.destroy', 'workspace.extract.destroy'], 'the closure itself completes');
    const owed = await p.engineCleanups.list();
    assert.deepEqual(owed.map((c) => [c.projectId, c.engine, c.state, c.attempts, c.doneAt]), [[project, 'trino', 'owed', 1, null]]);
    assert.match(owed[0]?.lastError ?? '', /Trino at http:\/\/127\.0\.0\.1:9 is not reachable/);
    assert.deepEqual(await cleanupEvents(), ['trino.cleanup.owed success', 'trino.cleanup failure']);
    const health = (await (await app.request('/healthz')).json()) as { engineCleanupsOwed: number };
    assert.equal(health.engineCleanupsOwed, 1);
    const listed = await call('GET', '/operator/engine-cleanups', 'operator');
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.body['cleanups'] as EngineCleanup[]).map((c) => [c.projectId, c.engine, c.state]), [[project, 'trino', 'owed']]);
    assert.equal((await call('GET', '/operator/engine-cleanups', 'member')).status, 403);
    assert.equal((await call('POST', '/operator/engine-cleanups/retry', 'member')).status, 403);
  });

  test('an owed drop is tried again on request while Trino is still unreachable: still owed, the attempt audited as a failure', async () => {
    const r = await call('POST', '/operator/engine-cleanups/retry', 'operator');
    assert.equal(r.status, 200);
    const pass = r.body as unknown as CleanupPass;
    assert.deepEqual(pass.cleared, []);
    assert.deepEqual(pass.failed.map((f) => [f.projectId, f.engine]), [[project, 'trino']]);
    assert.deepEqual((await p.engineCleanups.list()).map((c) => [c.state, c.attempts]), [['owed', 2]]);
    assert.deepEqual(await cleanupEvents(), ['trino.cleanup.owed success', 'trino.cleanup failure', 'trino.cleanup failure']);
  });

  test('at start, a closure no row records (closed before the table existed, or by a process stopped before the record) is recorded and tried, once', async () => {
    // as a closure before migration 0024 leaves it
    await p.db.query('DELETE FROM engine_cleanups WHERE project_id = $1', [project]);
    assert.equal(await p.engineCleanups.owedCount(), 0);
    const pass = await p.engineCleanups.retry('start');
    assert.deepEqual(pass.failed.map((f) => [f.projectId, f.engine]), [[project, 'trino']]);
    await p.engineCleanups.retry('start');
    assert.deepEqual((await p.engineCleanups.list({ all: true })).map((c) => [c.projectId, c.engine, c.state, c.attempts]), [[project, 'trino', 'owed', 2]]);
    assert.deepEqual((await cleanupEvents()).slice(3), ['trino.cleanup.owed success', 'trino.cleanup failure', 'trino.cleanup failure']);
  });

  test('while something is owed, it is tried again periodically (each attempt audited), and stopping waits for the pass under way', async () => {
    const before = (await p.engineCleanups.list())[0]?.attempts ?? 0;
    const jobs = p.engineCleanups.startRetrying(50);
    try {
      for (let i = 0; i < 100 && ((await p.engineCleanups.list())[0]?.attempts ?? 0) < before + 2; i++) await new Promise((res) => setTimeout(res, 50));
    } finally {
      await jobs.stop();
    }
    const after = (await p.engineCleanups.list())[0]?.attempts ?? 0;
    assert.ok(after >= before + 2, `attempts went from ${before} to ${after}`);
    const failures = (await cleanupEvents()).filter((e) => e === 'trino.cleanup failure').length;
    await new Promise((res) => setTimeout(res, 200));
    assert.equal((await p.engineCleanups.list())[0]?.attempts, after, 'no attempt after stop');
    assert.equal((await cleanupEvents()).filter((e) => e === 'trino.cleanup failure').length, failures);
  });

  test('once Trino answers, the retry drops the schema the closed project left there and clears the debt, audited (real Trino)', { skip: realTrinoSkip }, async () => {
    if ('skip' in realTrino) return;
    // What the project left on Trino: its workspace schema with a table in it.
    const trino = new TrinoClient({ url: realTrino.url });
    const as = { user: ADMIN_USER, catalog: 'enclave' };
    const schema = workspaceSchema(project);
    await trino.query(`CREATE SCHEMA IF NOT EXISTS enclave."${schema}"`, as);
    await trino.query(`CREATE TABLE enclave."${schema}".left_behind AS SELECT 1 AS x`, as);
    const schemas = async (): Promise<number> => Number((await trino.query(`SELECT count(*) FROM enclave.information_schema.schemata WHERE schema_name = '${schema}'`, as)).rows[0]?.[0]);
    assert.equal(await schemas(), 1);
    // The same database and audit log, its Trino now reachable: the deployment once Trino is back.
    const builder = trinoExtractBuilderPort(openTrinoExtractBuilder({ url: realTrino.url, catalog: 'enclave' }), 'enclave');
    const back = new EngineCleanups({
      db: p.db, audit: p.audit, engines: new ProjectEngines(p.db, { defaultEngine: 'duckdb', available: ['duckdb', 'trino'] }), keeping: ['trino'],
      drop: async (id) => builder.destroyProject?.(id),
    });
    const failedAttempts = (await p.engineCleanups.list())[0]?.attempts ?? 0;
    const pass = await back.retry('retry');
    assert.deepEqual(pass, { cleared: [{ projectId: project, engine: 'trino' }], failed: [] });
    assert.equal(await schemas(), 0, 'nothing of the closed project stays on Trino');
    assert.equal(await back.owedCount(), 0);
    const [row] = await back.list({ all: true });
    assert.deepEqual([row?.state, row?.doneAt === null], ['done', false]);
    assert.equal(row?.attempts, failedAttempts + 1, 'the failed attempts are kept in the count');
    assert.deepEqual((await cleanupEvents()).at(-1), 'trino.cleanup success');
    assert.equal(((await (await app.request('/healthz')).json()) as { engineCleanupsOwed: number }).engineCleanupsOwed, 0);
    // nothing left to try
    assert.deepEqual(await back.retry('start'), { cleared: [], failed: [] });
  });
});
