/**
 * One source for the API's shapes: the OpenAPI document documents every route the app registers
 * (identity and auth included) and nothing else; the portal's generated types are exactly what
 * scripts/openapi-types.ts makes of the document today; and what the server really answers
 * validates against the documented schemas (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { GENERATED_PATH, servedApi, typeOf, typesFromOpenApi, type RegisteredRoute } from '../../scripts/openapi-types.ts';
import { BY_DEPT, openAirlockFixture, type AirlockFixture } from '../../test/helpers/airlock.ts';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { ingestSample, openMigratePlatform, operator, type MigratePlatform } from '../../test/helpers/migrate.ts';
import { LocalStore } from '../store/local.ts';
import { join } from 'node:path';
import { IdentityService } from '../identity/index.ts';
import { synthesize } from '../synth/index.ts';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { API_SCHEMAS, type SchemaName } from './api-schemas.ts';
import { createHttpApp } from './app.ts';
import { authDepsFrom } from './auth.ts';
import { operatorRoutes } from './routes/datasets.ts';

describe('the OpenAPI document and the types generated from it', () => {
  let served: { readonly document: unknown; readonly routes: readonly RegisteredRoute[] };
  before(async () => {
    served = await servedApi();
  });

  /**
   * `METHOD /full/path` (Hono's spelling: `:param`, and `*` for a trailing `{path}`, which the
   * document uses for the rest of a path) of every operation the document describes.
   */
  function documented(): Set<string> {
    const doc = served.document as { paths: Record<string, Record<string, unknown> & { servers?: { url: string }[] }> };
    const out = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      const base = item.servers?.[0]?.url === '/' ? '' : '/api/v1';
      for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
        if (item[method] !== undefined) out.add(`${method.toUpperCase()} ${base}${path.replace(/\/\{path\}$/, '/*').replace(/\{([A-Za-z]+)\}/g, ':$1')}`);
      }
    }
    return out;
  }

  test('every route the app registers is in the document, identity and auth included', () => {
    const docs = documented();
    // ALL entries are middleware (`*`) and the node mounts (`/idp/*`), checked the other way below
    const routes = served.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`);
    assert.ok(routes.some((r) => r.startsWith('GET /api/v1/identity/')) && routes.some((r) => r.startsWith('GET /api/v1/auth/')), 'identity and auth routes are registered');
    assert.deepEqual(routes.filter((r) => !docs.has(r)).sort(), [], 'registered but not documented');
  });

  test('a change that waits for a second admin is documented with its 202 as well as its 200', () => {
    const doc = served.document as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const [path, method] of [['/identity/people/{personId}/roles', 'post'], ['/identity/people/{personId}/roles/{role}', 'delete'], ['/identity/demo-logins', 'post']] as const) {
      const codes = Object.keys(doc.paths[path]?.[method]?.responses ?? {}).filter((c) => c.startsWith('2')).sort();
      assert.deepEqual(codes, ['200', '202'], `${method.toUpperCase()} ${path}`);
    }
  });

  test('every operation of the document is a route the app registers', () => {
    const registered = new Set(served.routes.map((r) => `${r.method} ${r.path}`));
    // a node mount documents GET and POST under its prefix, served by one ALL route
    const missing = [...documented()].filter((op) => !registered.has(op) && !registered.has(op.replace(/^(GET|POST) (.+\/\*)$/, 'ALL $2')));
    assert.deepEqual(missing.sort(), [], 'documented but not registered');
  });

  test('web/src/api/generated.ts is what the generator makes of the document served now (run npm run openapi:types after changing a route or a schema)', async () => {
    const checkedIn = await readFile(GENERATED_PATH, 'utf8');
    const now = typesFromOpenApi(served.document);
    if (checkedIn !== now) {
      const a = checkedIn.split('\n');
      const b = now.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      assert.fail(`web/src/api/generated.ts is out of date from line ${line + 1}: has ${JSON.stringify(a[line])}, the generator writes ${JSON.stringify(b[line])}; run npm run openapi:types`);
    }
  });

  test('the generated types name every component schema and the operations the portal calls', () => {
    const text = typesFromOpenApi(served.document);
    for (const name of Object.keys(API_SCHEMAS)) assert.match(text, new RegExp(`^export type ${name} = `, 'm'), name);
    for (const op of ['GET /catalog/datasets/{dataset}', 'GET /governance/projects/{id}', 'GET /governance/projects/{id}/amendment', 'GET /identity/me', 'POST /governance/projects']) {
      assert.ok(text.includes(`${JSON.stringify(op)}: {`), op);
    }
  });
});

describe('JSON Schema to TypeScript', () => {
  test('a string enumeration also gives its values, in order, for the portal to list', () => {
    const out = typesFromOpenApi({ openapi: '3.1.0', paths: {}, components: { schemas: { Level: { type: 'string', enum: ['low', 'high'] }, Mixed: { enum: ['a', 1] } } } });
    assert.match(out, /export type Level = "low" \| "high";/);
    assert.match(out, /export const LevelValues: readonly Level\[\] = \["low","high"\];/);
    assert.doesNotMatch(out, /MixedValues/);
  });

  test('references, nullable types, enums, consts, unions and intersections', () => {
    assert.equal(typeOf({ $ref: '#/components/schemas/Table' }), 'Table');
    assert.equal(typeOf({ type: ['string', 'null'] }), 'string | null');
    assert.equal(typeOf({ type: 'integer', nullable: true }), 'number | null');
    assert.equal(typeOf({ enum: ['a', 'b'] }), '"a" | "b"');
    assert.equal(typeOf({ const: 1 }), '1');
    assert.equal(typeOf({ type: 'array', items: { type: ['string', 'number'] } }), 'readonly (string | number)[]');
    assert.equal(typeOf({ type: 'array', items: { type: 'array', items: { type: 'string' } } }), 'readonly (readonly string[])[]');
    assert.equal(typeOf({ allOf: [{ $ref: '#/components/schemas/A' }, { anyOf: [{ $ref: '#/components/schemas/B' }, { type: 'null' }] }] }), 'A & (B | null)');
    assert.equal(typeOf({}), 'unknown');
    assert.equal(typeOf({ type: 'object' }), '{ readonly [key: string]: unknown }');
    assert.equal(typeOf({ type: 'object', additionalProperties: { type: 'integer' } }), '{ readonly [key: string]: number }');
    assert.equal(typeOf({ anyOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#/components/schemas/V' } }] }), 'string | (readonly V[])');
  });

  test('objects: required members plain, others optional, odd names quoted, descriptions kept', () => {
    const t = typeOf({ type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'the id' }, 'x-y': { type: 'boolean' } } });
    assert.equal(t, '{\n  /** the id */\n  readonly id: string;\n  readonly "x-y"?: boolean;\n}');
  });

  test('a document that is not OpenAPI 3, or a reference outside the document, is refused with the reason', () => {
    assert.throws(() => typesFromOpenApi({ swagger: '2.0' }), /not an OpenAPI 3\.x document/);
    assert.throws(() => typeOf({ $ref: 'other.json#/Foo' }), /only local component references/);
  });
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
// the components as one schema document, so that each `$ref` resolves
ajv.addSchema({ $id: 'enclave', components: { schemas: API_SCHEMAS } });
const check = (name: SchemaName, value: unknown): void => {
  const validate = ajv.getSchema(`enclave#/components/schemas/${name}`);
  assert.ok(validate !== undefined, name);
  // through JSON, as the client receives it
  const ok = validate(JSON.parse(JSON.stringify(value)));
  assert.ok(ok, `${name}: ${ajv.errorsText(validate.errors)}`);
};

describe('what the server answers validates against the documented schemas', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture();
  });
  after(async () => {
    await f.close();
  });

  test('an active project, an amendment with its proposal and a vote, its permits, the public register, its trail, notifications, drafts, API tokens', async () => {
    const id = await f.projectAt('active');
    check('ProjectDetail', await f.gov.getProject(f.who.applicant, id));
    await f.amendmentAt(id, 'committee_review', ['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE']);
    check('AmendmentDetail', await f.gov.getAmendment(f.who.committee1, id));
    check('AmendmentDetail', await f.gov.takeAmendment(f.who.committee1, id, 'committee_approve'));
    check('ProjectDetail', await f.gov.getProject(f.who.committee1, id));
    for (const p of await f.gov.permits(f.who.applicant, id)) check('Permit', p);
    for (const e of await f.gov.register()) check('RegisterEntry', e);
    check('ProjectTrail', await f.gov.projectTrail(f.who.applicant, id));
    for (const n of await f.gov.notifications(f.who.member)) check('Notification', n);
    const draft = await f.gov.saveDraft(f.who.applicant, null, { content: { title: 'half written' }, step: 1 });
    check('ApplicationDraft', draft);
    for (const d of await f.gov.listDrafts(f.who.applicant)) check('ApplicationDraft', d);
    check('NotificationSettings', await f.gov.notificationSettings(f.who.applicant));
    check('NewApiToken', await f.identity.createApiToken(f.who.applicant, id, { label: 'schema check', days: 2 }));
    for (const k of await f.identity.listApiTokens(f.who.applicant.personId)) check('ApiToken', k);
  });

  test('the catalogue: dataset, tables, search hits and a nomenclature page', async () => {
    const ds = await f.catalog.getDataset('snds');
    check('Dataset', ds);
    for (const t of ds.tables) check('Table', await f.catalog.getTable('snds', t.name));
    for (const h of await f.catalog.search('PRS')) check('SearchHit', h);
    for (const n of await f.catalog.listNomenclatures()) check('NomenclatureSummary', n);
  });

  test('administration: people, the directory, role changes applied and withdrawn, the demo logins switch and its changes (as the identity routes compose them)', async () => {
    const { identity, who } = f;
    for (const p of await identity.listPeople()) check('Person', p);
    const found = await identity.directory('check');
    assert.ok(found.length > 0);
    for (const e of found) check('DirectoryEntry', e);
    const result = async (change: Awaited<ReturnType<typeof identity.grantRole>>) => ({ change, person: await identity.requirePerson(change.personId) });
    const applied = await identity.grantRole(who.admin, who.outsider.personId, 'auditor');
    assert.equal(applied.state, 'applied');
    check('RoleChangeResult', await result(applied));
    const pending = await identity.grantRole(who.admin, who.outsider.personId, 'output_checker');
    assert.equal(pending.state, 'pending');
    check('RoleChangeResult', await result(pending));
    check('RoleChange', await identity.decideRoleChange(who.admin, pending.id, 'reject'));
    check('RoleChangeResult', await result(await identity.revokeRole(who.admin, who.outsider.personId, 'auditor')));
    for (const c of await identity.listRoleChanges()) check('RoleChange', c);
    const before = await identity.demoLogins();
    check('DemoLogins', { ...before, listed: false });
    const first = await identity.setDemoLogins(who.admin, !before.enabled);
    check('DemoLoginChangeResult', { change: first });
    const proposal = first.state === 'pending' ? first : await identity.setDemoLogins(who.admin, true);
    assert.equal(proposal.state, 'pending');
    check('DemoLogins', { ...(await identity.demoLogins()), listed: true });
    check('DemoLoginChangeResult', { change: await identity.decideDemoLogins(who.admin, proposal.id, 'reject') });
  });

  test('the audit explorer: pages of events, all and of one project (as GET /audit/events composes them)', async () => {
    const id = await f.projectAt('submitted');
    const reader = { actor: { kind: 'person', id: f.who.auditor.personId } } as const;
    for (const filter of [{}, { target: `project:${id}` }, { action: 'governance.' }]) {
      const r = await f.audit.search(reader, { limit: 50, offset: 0, ...filter });
      assert.ok(r.lines.length > 0, JSON.stringify(filter));
      check('AuditEventsPage', { total: r.total, offset: 0, limit: 50, events: r.lines });
    }
  });

  test('the public audit routes: keys, checkpoints, inclusion and consistency proofs (as the audit routes compose them)', async () => {
    await f.projectAt('submitted');
    const first = await f.audit.checkpoint();
    await f.projectAt('submitted');
    const second = await f.audit.checkpoint();
    assert.ok(second.treeSize > first.treeSize);
    check('AuditKeys', { log: f.audit.publicKey, witnesses: f.audit.witnessKeys });
    for (const x of await f.audit.checkpoints()) check('CheckpointSummary', { treeSize: x.treeSize, rootHash: x.rootHash, createdAt: x.createdAt, note: x.note });
    check('InclusionProof', await f.audit.inclusionProof(0, second.treeSize));
    check('ConsistencyProof', await f.audit.consistencyProof(first.treeSize, second.treeSize));
  });

  test('a schema that does not fit is caught (the check can fail)', async () => {
    const id = await f.projectAt('draft');
    const detail = await f.gov.getProject(f.who.applicant, id);
    assert.throws(() => check('ProjectDetail', { ...detail, actions: ['fly'] }), /ProjectDetail/);
    assert.throws(() => check('Project', { ...detail.project, members: undefined }), /members/);
  });
});

describe('what the airlock answers validates against the documented schemas', () => {
  let a: AirlockFixture;
  let project: string;
  before(async () => {
    a = await openAirlockFixture();
    project = await a.w.activeProject();
  });
  after(async () => {
    await a.close();
  });

  test('a draft, a submitted request with flagged small cells and its safe version, a released request with its votes and bundle, lists, versions and the signing key', async () => {
    const member = a.w.f.who.member;
    const draft = await a.requestAt(project, 'draft', { oa_draft: BY_DEPT });
    check('RequestDetail', draft);
    const flagged = await a.requestAt(project, 'submitted', { oa_small: "SELECT dept, count(*) AS n FROM persons WHERE person_id <= 40 OR dept = '75' GROUP BY dept ORDER BY dept" });
    assert.ok((flagged.report?.outputs[0]?.flags.length ?? 0) > 0, 'the small cells are flagged');
    assert.ok(flagged.report?.outputs[0]?.safeVersion.table !== null, 'with a safe version');
    check('RequestDetail', flagged);
    check('RequestDetail', await a.airlock.get(a.checker1, flagged.request.id));
    const released = await a.requestAt(project, 'released', { oa_released: BY_DEPT });
    assert.equal(released.request.status, 'released');
    assert.ok(released.release !== null && released.votes.length > 0);
    check('RequestDetail', released);
    for (const r of await a.airlock.list(member, { projectId: project })) check('ReleaseRequest', r);
    for (const v of await a.airlock.versions(member, draft.request.id)) check('RequestVersion', v);
    check('SigningKey', a.airlock.signingKey());
    assert.throws(() => check('RequestDetail', { ...released, actions: ['publish'] }), /RequestDetail/);
  });
});

describe('what the operator routes answer validates against the documented schemas', () => {
  let p: TestPlatform;
  let app: ReturnType<typeof createHttpApp>;
  let cookie = '';
  let csrf = '';
  const actor = { kind: 'service', id: 'test' } as const;
  before(async () => {
    p = await openTestPlatform();
    await p.catalog.importBuiltin(actor);
    const identity = new IdentityService({ db: p.t.db, audit: p.audit });
    const id = await identity.ensurePerson(actor, { issuer: 'https://idp.test', subject: 'operator', displayName: 'operator', email: null, organisation: 'test' });
    await identity.seedRoles(actor, id, ['operator']);
    const s = await identity.login({ issuer: 'https://idp.test', subject: 'operator', displayName: 'operator', email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
    cookie = `enclave_session=${s.cookieValue}`;
    csrf = s.csrfToken;
    app = createHttpApp({ version: 't', health: async () => ({}), routes: [{ prefix: 'operator', app: operatorRoutes({ catalog: p.catalog, ingest: p.ingest, keys: p.keys }, authDepsFrom(identity, p.audit, false)) }], openApiPaths: [] });
  });
  after(async () => {
    await p.close();
  });
  const answer = async (path: string, method = 'GET'): Promise<Record<string, unknown>> => {
    const r = await app.request(`/api/v1/operator${path}`, method === 'GET' ? { headers: { cookie } } : { method, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 200, path);
    return (await r.json()) as Record<string, unknown>;
  };
  const each = (value: unknown): unknown[] => (Array.isArray(value) ? value : assert.fail('a list'));

  test('datasets, versions, a version with its manifest, a quarantine page, keys and a master key rotation, after a real delivery with defects', async () => {
    for (const d of each((await answer('/datasets'))['datasets'])) check('OperatorDataset', d);
    await synthesize({ people: 200, startYear: 2021, endYear: 2021, seed: 7, out: join(p.dir, 'delivery'), parquet: false, defects: 0.01 });
    const res = await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'delivery', 'csv')], actor });
    assert.ok(res.rowsQuarantined > 0, 'the delivery has quarantined rows');
    const datasets = each((await answer('/datasets'))['datasets']);
    assert.equal(datasets.length, 1);
    for (const d of datasets) check('OperatorDataset', d);
    for (const v of each((await answer('/datasets/snds/versions'))['versions'])) check('VersionSummary', v);
    check('VersionDetail', await answer('/datasets/snds/versions/1'));
    const q = await answer('/datasets/snds/versions/1/quarantine?limit=20');
    assert.ok(each(q['entries']).length > 0);
    check('QuarantineReportPage', q);
    const keys = each((await answer('/keys'))['keys']);
    assert.ok(keys.length > 0);
    for (const k of keys) check('DataKey', k);
    check('MasterKeyRotation', await answer('/keys/rotate-master', 'POST'));
    for (const k of each((await answer('/keys'))['keys'])) check('DataKey', k);
  });
});

describe('what the migration routes answer validates against the documented schemas', () => {
  let p: MigratePlatform;
  before(async () => {
    p = await openMigratePlatform();
    p.stores.add('second', new LocalStore(join(p.dir, 'second')));
    await ingestSample(p);
  });
  after(async () => {
    await p.close();
  });

  test('a plan before its run, after it, and the list', async () => {
    const plan = await p.migration.plan({ from: 'local', to: 'second', actor: operator });
    check('MigrationStatus', await p.migration.status(plan.id));
    await p.migration.run(plan.id, { actor: operator });
    const done = await p.migration.status(plan.id);
    assert.ok(done.files.copied > 0 && done.files.copied === done.files.total, 'the plan ran');
    check('MigrationStatus', done);
    const list = await p.migration.list();
    assert.equal(list.length, 1);
    for (const m of list) check('MigrationStatus', m);
  });
});
