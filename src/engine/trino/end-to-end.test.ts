/**
 * ENCLAVE_ENGINE=trino end to end, on a real Trino: a synthetic SNDS delivery ingested for real;
 * a project driven through governance until its permit comes into force, which materialises the
 * member's extract on Trino (the version's Trino-readable copy checked against its manifest and
 * registered, the Trino builder behind the extract port, re-keyed pseudonyms in the project's
 * schema); the member queries it through the HTTP query API and `enclave sql`, with the same rows
 * as DuckDB gives for the same permit and base; suspension and expiry cut access at once; the
 * escape corpus (shared and Trino's own) through POST /queries.
 *
 * Needs ENCLAVE_TRINO_URL, ENCLAVE_TRINO_RULES_FILE and ENCLAVE_TRINO_WAREHOUSE; skipped with the
 * reason printed otherwise.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DatasetVersions } from '../../datasets/index.ts';
import { AppError } from '../../errors.ts';
import { GovernanceService } from '../../governance/index.ts';
import { createHttpApp } from '../../http/app.ts';
import { CSRF_HEADER, sessionCookieName, type AuthDeps } from '../../http/auth.ts';
import { workspaceRoutes } from '../../http/routes/workspace.ts';
import { IdentityService, type Principal } from '../../identity/index.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom, openDuckDbExtractBuilder, permitsInForceFrom } from '../../main.ts';
import { runCli } from '../../cli/program.ts';
import { synthesize } from '../../synth/index.ts';
import { ExtractService } from '../../workspace/extract/index.ts';
import { WorkspaceService, type Query } from '../../workspace/index.ts';
import { openTestPlatform, type TestPlatform } from '../../../test/helpers/platform.ts';
import { makeEscapeTargets, type EscapeSetup } from '../../../test/helpers/workspace.ts';
import { hostileStatements } from '../../../test/helpers/workspace-escapes.ts';
import { trinoHostile } from '../../../test/helpers/trino-escapes.ts';
import { openDuckDbSandbox } from '../duckdb-sandbox/sandbox.ts';
import { makeExtract, type Fixture } from '../spec/fixture.ts';
import { trinoExclusive, trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import type { ExtractBuilder, StatementResult, WorkspaceEngine, WorkspaceSession } from '../index.ts';
import { openTrinoDatasetCopy } from './dataset-copy.ts';
import { openTrinoWorkspaceEngine, workspaceSchema } from './engine.ts';
import { openTrinoExtractBuilder, trinoExtractBuilderPort } from './extract.ts';

const target = trinoTarget(process.env);
const warehouse = process.env['ENCLAVE_TRINO_WAREHOUSE'];
const why = 'skip' in target ? target.skip : warehouse === undefined || warehouse === '' ? 'ENCLAVE_TRINO_WAREHOUSE is not set (`scripts/trino.sh warehouse`)' : await trinoReachable(target);
if (why !== undefined) console.log(`Trino end to end skipped: ${why}`);

const actor = { kind: 'service', id: 'trino-e2e' } as const;
const WOMEN = [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }];
/** Queries in the SQL both engines speak; pseudonyms are output, so re-keying must agree too. */
const QUERIES = [
  'SELECT count(*) AS n, count(DISTINCT ben_nir_psa) AS persons FROM er_prs_f',
  'SELECT ben_nir_psa, count(*) AS n FROM er_prs_f GROUP BY ben_nir_psa ORDER BY ben_nir_psa LIMIT 50',
  'SELECT CAST(prs_nat_ref AS VARCHAR) AS prs, count(*) AS n FROM er_prs_f GROUP BY 1 ORDER BY 1',
  'SELECT count(*) AS n FROM er_prs_f e JOIN ir_ben_r b ON e.ben_nir_psa = b.ben_nir_psa',
];

describe('ENCLAVE_ENGINE=trino end to end', { skip: why }, () => {
  let p: TestPlatform;
  let gov: GovernanceService;
  let identity: IdentityService;
  let extracts: ExtractService;
  let ws: WorkspaceService;
  let trinoEngine: WorkspaceEngine;
  let duckEngine: WorkspaceEngine;
  let duckBuilder: ExtractBuilder;
  let duckWs: WorkspaceSession;
  let app: ReturnType<typeof createHttpApp>;
  let project: string;
  let token: string;
  let scratch: string;
  let ex: Fixture;
  let targets: EscapeSetup;
  const who: Record<string, Principal> = {};
  const cookies: Record<string, { cookie: string; csrf: string }> = {};
  const cookieName = sessionCookieName(false);

  let release: (() => Promise<void>) | undefined;

  before(async () => {
    if ('skip' in target || warehouse === undefined) return;
    // The dataset schema (snds_v1) is shared with the portal's Trino journey: one file at a time.
    release = await trinoExclusive(target);
    p = await openTestPlatform();
    await p.catalog.importBuiltin(actor);
    await synthesize({ people: 80, startYear: 2021, endYear: 2022, seed: 17, out: join(p.dir, 'synth'), parquet: false });
    await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'synth', 'csv')], actor });
    const now = (): Date => new Date('2026-03-01T10:00:00Z');
    identity = new IdentityService({ db: p.t.db, audit: p.audit, now });
    gov = new GovernanceService({ db: p.t.db, audit: p.audit, now, keys: p.keys, catalog: (d, t) => p.catalog.getTable(d, t), people: identity.peopleDirectory() });
    // As main.ts wires ENCLAVE_ENGINE=trino: the datasets domain with the Trino copy, the Trino builder.
    const datasets = new DatasetVersions({ db: p.t.db, audit: p.audit, keys: p.keys, store: p.store, engineCopy: openTrinoDatasetCopy({ url: target.url, warehouse, engine: p.engine }) });
    extracts = new ExtractService({
      db: p.t.db, audit: p.audit, store: p.store, builder: trinoExtractBuilderPort(openTrinoExtractBuilder({ url: target.url })),
      permits: permitsInForceFrom(p.t.db), catalog: extractCatalogFrom(p.catalog), datasets: datasetVersionsFrom(datasets, p.keys, p.store), keys: extractKeysFrom(p.keys),
      onError: (id, e) => console.log(`extract of ${id} failed: ${e instanceof Error ? e.message : String(e)}`),
    });
    extracts.listen(gov);
    scratch = await mkdtemp(join(tmpdir(), 'enclave-trino-e2e-'));
    trinoEngine = openTrinoWorkspaceEngine({ url: target.url, rulesFile: target.rulesFile });
    ws = new WorkspaceService({
      db: p.t.db, audit: p.audit, governance: gov, keys: p.keys, engine: trinoEngine, extracts, scratchRoot: scratch, quotaBytes: 64 * 1024 * 1024,
      limits: { memoryBytes: 512 * 1024 * 1024, threads: 1, tempDiskBytes: 0, statementTimeoutMs: 60_000, rowCap: 100_000 },
    });
    for (const [k, roles] of [['applicant', ['applicant']], ['member', ['applicant']], ['ethics', ['ethics_reviewer']], ['legal', ['legal_reviewer']], ['c1', ['access_committee']], ['c2', ['access_committee']]] as const) {
      const id = await identity.ensurePerson(actor, { issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test' });
      await identity.seedRoles(actor, id, roles);
      who[k] = await identity.principalOf(id, 'session');
      const s = await identity.login({ issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      cookies[k] = { cookie: s.cookieValue, csrf: s.csrfToken };
    }
    const w = (k: string): Principal => who[k] as Principal;
    const pr = await gov.createProject(w('applicant'), {
      title: 'Trino', organisation: 'Inserm', purpose: 'Study.', publicInterest: 'Health.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' },
      ethicsOpinionReference: null, funding: 'ANR', team: [{ name: 'A', role: 'principal investigator', organisation: 'Inserm' }],
      requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }, { table: 'IR_BEN_R', columns: ['BEN_NIR_PSA', 'BEN_NAI_ANN'] }] }], years: { from: 2021, to: 2021 }, population: 'women', justification: 'needed' },
    });
    project = pr.id;
    await gov.addMember(w('applicant'), project, w('member').personId, 'member');
    for (const [k, a] of [['applicant', 'submit'], ['c1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']] as const) await gov.take(w(k), project, a);
    const template = await gov.permitTemplate(w('c1'), project, { validFrom: '2026-03-01', validUntil: '2027-02-28' });
    await gov.proposePermit(w('c1'), project, { ...template, population: { description: 'women', criteria: WOMEN } });
    await gov.take(w('c1'), project, 'committee_approve');
    await gov.take(w('c2'), project, 'committee_approve');
    await extracts.idle();
    token = (await identity.createApiToken(w('member'), project, { label: 'cli' })).token;
    const auth: AuthDeps = { cookieName, resolveSession: (v) => identity.resolveSession(v), resolveApiToken: (t) => identity.resolveApiToken(t), denied: async () => undefined };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'projects', app: workspaceRoutes(ws, auth) }] });

    // DuckDB, same permit and base: the DuckDB builder through a second extract service whose
    // project id differs but whose permit and keys are this project's (so pseudonyms agree).
    const ref = `${project}-duckdb`;
    duckBuilder = await openDuckDbExtractBuilder({ threads: 1 });
    const keys = extractKeysFrom(p.keys);
    const duckExtracts = new ExtractService({
      db: p.t.db, audit: p.audit, store: p.store, builder: duckBuilder,
      permits: { active: () => permitsInForceFrom(p.t.db).active(project) }, catalog: extractCatalogFrom(p.catalog), datasets: datasetVersionsFrom(p.ingest, p.keys, p.store),
      keys: { keyId: (_id, purpose) => keys.keyId(project, purpose), withKey: (_id, purpose, fn) => keys.withKey(project, purpose, fn) },
    });
    await duckExtracts.materialise(ref);
    const { tables } = await duckExtracts.openForEngine(ref);
    duckEngine = openDuckDbSandbox({ killGraceMs: 2000 });
    duckWs = await duckEngine.open({
      workspaceId: ref, extract: tables.map((t) => ({ name: t.name, files: [...t.files], key: t.key })),
      scratch: { dir: join(scratch, 'duck'), key: Buffer.alloc(32, 1), quotaBytes: 1 << 20 },
      limits: { memoryBytes: 256 * 1024 * 1024, threads: 1, tempDiskBytes: 0, statementTimeoutMs: 60_000, rowCap: 100_000 },
    });
    ex = await makeExtract();
    targets = await makeEscapeTargets(ex);
  });
  after(async () => {
    await duckWs?.close();
    await duckEngine?.close();
    await duckBuilder?.close();
    await ws?.close();
    await trinoEngine?.close();
    await extracts?.destroy(project).catch(() => undefined);
    await ex?.cleanup();
    await p?.close();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    await release?.();
  });

  const call = async (method: string, path: string, k: string, body?: unknown) => {
    const c = cookies[k];
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(c === undefined ? {} : { cookie: `${cookieName}=${c.cookie}`, [CSRF_HEADER]: c.csrf }) };
    const sent = method === 'POST' && typeof body === 'object' && body !== null && !('waitMs' in body) ? { ...body, waitMs: 60_000 } : body;
    const res = await app.request(`/api/v1/projects/${path}`, { method, headers, ...(sent === undefined ? {} : { body: JSON.stringify(sent) }) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as Record<string, unknown> & Query };
  };

  const rowsOf = async (sql: string): Promise<unknown[][]> => {
    const r = await call('POST', `${project}/queries`, 'member', { sql });
    assert.equal(r.body.status, 'succeeded', `${sql}: ${JSON.stringify(r.body.error)}`);
    const page = await call('GET', `${project}/queries/${r.body.id}/rows?offset=0&limit=1000`, 'member');
    return (page.body['rows'] as unknown[][]).map((x) => [...x]);
  };

  test('the permit coming into force materialised the extract on Trino: the permitted tables, re-keyed, in the project schema', async () => {
    const m = await extracts.current(project);
    assert.ok(m !== null);
    assert.deepEqual(m.tables.map((t) => t.name), ['er_prs_f', 'ir_ben_r']);
    for (const t of m.tables) {
      assert.ok(t.rows > 0, t.name);
      assert.deepEqual(t.files.map((f) => f.path), [`engine:trino/enclave.${workspaceSchema(project)}.${t.name}`]);
      assert.match(t.files[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    }
    assert.deepEqual(m.tables.flatMap((t) => t.columns.filter((c) => c.rekeyed).map((c) => `${t.name}.${c.name}`)), ['er_prs_f.ben_nir_psa', 'ir_ben_r.ben_nir_psa']);
    const info = await call('GET', `${project}/workspace`, 'member');
    assert.equal(info.status, 200);
    assert.equal(info.body['status'], 'ready');
    console.log(`# Trino extract: ${m.tables.map((t) => `${t.name} ${t.rows} rows`).join(', ')}`);
  });

  test('the member\'s queries through the HTTP API give the same rows on Trino as on DuckDB, pseudonyms included', async () => {
    let rows = 0;
    for (const sql of QUERIES) {
      const trino = await rowsOf(sql);
      const r = (await duckWs.run(sql)) as StatementResult;
      const duck = (await duckWs.page(r.resultId, { offset: 0, limit: 1000 })).rows.map((x) => [...x]);
      assert.ok(duck.length > 0, sql);
      assert.deepEqual(trino, duck, sql);
      rows += duck.length;
    }
    console.log(`Trino end to end: ${QUERIES.length} queries through POST /queries, ${rows} rows equal to DuckDB's for the same permit and base`);
  });

  test('enclave sql through the API prints the Trino answer', async () => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', 'sql', '--project', project, 'SELECT count(*) AS n FROM er_prs_f'], {
      version: 'test', open: async () => { throw new Error('remote only'); }, serve: async () => undefined,
      out: { write: (s) => { out += s; } }, err: { write: (s) => { err += s; } },
      env: { ENCLAVE_URL: 'http://127.0.0.1:9', ENCLAVE_TOKEN: token },
      fetch: (async (url: string | URL | Request, init?: RequestInit) => app.request(url instanceof Request ? url : String(url), init)),
    });
    assert.equal(code, 0, err);
    const [[n]] = (await rowsOf('SELECT count(*) AS n FROM er_prs_f')) as [[string]];
    assert.match(out, new RegExp(`^\\s*${n}\\s*$`, 'm'));
    assert.match(out, /\(1 row; \d+ ms; sha256 [0-9a-f]{16}…\)/);
  });

  test('SECURITY-TESTS #11 on Trino through POST /queries: the shared and Trino corpora refused, nothing read, no leak', async () => {
    const corpus = [...hostileStatements(targets), ...trinoHostile(workspaceSchema(project), workspaceSchema(`${project}-other`))];
    let reads = 0;
    let leaks = 0;
    for (const sql of corpus) {
      const r = await call('POST', `${project}/queries`, 'member', { sql });
      assert.equal(r.status, 201, `${sql}: ${r.status} ${JSON.stringify(r.body)}`);
      if (r.body.status === 'succeeded') reads++;
      else assert.ok(r.body.status === 'refused' || (r.body.status === 'failed' && r.body.error?.code === 'invalid'), `${sql}: ${r.body.status} ${JSON.stringify(r.body.error)}`);
      if (targets.leaks(`${r.body.error?.message ?? ''} ${r.body.error?.hint ?? ''}`, sql)) leaks++;
    }
    assert.equal(reads, 0);
    assert.equal(leaks, 0);
    assert.equal((await call('POST', `${project}/queries`, 'member', { sql: 'SELECT count(*) FROM er_prs_f' })).body.status, 'succeeded');
    console.log(`SECURITY-TESTS #11 (Trino, query API): ${corpus.length} hostile statements through POST /queries, ${corpus.length} refused, 0 reads outside the extract, 0 leaks`);
  });

  test('a version file changed at rest is refused before any copy for Trino, naming the file', async () => {
    if ('skip' in target || warehouse === undefined) return;
    const v = await p.datasets.version('snds');
    const f = v.manifest.files[0];
    assert.ok(f !== undefined);
    const path = p.store.localPath(`${v.prefix}/${f.path}`);
    const original = await readFile(path);
    const changed = Buffer.from(original);
    changed[changed.length >> 1] = (changed[changed.length >> 1] ?? 0) ^ 1;
    await writeFile(path, changed);
    try {
      const fresh = new DatasetVersions({ db: p.t.db, audit: p.audit, keys: p.keys, store: p.store, engineCopy: openTrinoDatasetCopy({ url: target.url, warehouse, engine: p.engine }) });
      await assert.rejects(fresh.prepareForEngine('snds', v.version), (e: unknown) => e instanceof AppError && e.code === 'integrity' && e.message.includes(f.path));
    } finally {
      await writeFile(path, original);
    }
  });

  test('suspension stops the running statement and refuses the next at once; reinstated, then expired, refused again', async () => {
    const slow = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT count(*) FROM er_prs_f a CROSS JOIN er_prs_f b CROSS JOIN er_prs_f c WHERE a.ben_nir_psa <> c.ben_nir_psa', waitMs: 0 });
    assert.equal(slow.status, 202);
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = performance.now();
    await gov.take(who['c1'] as Principal, project, 'suspend');
    await ws.settled();
    const ended = await call('GET', `${project}/queries/${slow.body.id}`, 'member');
    const after = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT 1' });
    const ms = Math.round(performance.now() - t0);
    assert.equal(after.status, 403);
    // The member can no longer read the query either: its end is in the database.
    assert.equal(ended.status, 403);
    const [row] = await p.t.db.query<{ status: string; error: string | { reason: string } }>('SELECT status, error FROM workspace_queries WHERE id = $1', [slow.body.id]);
    assert.equal(row?.status, 'cancelled');
    assert.match(JSON.stringify(row?.error), /access_ended/);
    await gov.take(who['c2'] as Principal, project, 'reinstate');
    await extracts.idle();
    assert.equal((await call('POST', `${project}/queries`, 'member', { sql: 'SELECT count(*) FROM er_prs_f' })).body.status, 'succeeded');
    await gov.take(who['c1'] as Principal, project, 'expire');
    await ws.settled();
    assert.equal((await call('POST', `${project}/queries`, 'member', { sql: 'SELECT 1' })).status, 403);
    console.log(`Trino end to end: suspension stopped the running statement and refused the next within ${ms} ms; expiry refused at once`);
  });
});
